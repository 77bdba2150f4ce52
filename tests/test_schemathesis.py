"""The API keeps the contract its OpenAPI document states, checked by Schemathesis over every
operation: statuses and media types declared (errors as application/problem+json), responses
matching their schemas, requests the schema calls valid accepted and invalid ones refused,
no server errors, an Allow header that names every method of a path.

The app runs in process (ASGI) as a real signed-in user who owns a workspace, a ready
dataset, a tiled scene, a share link, an API key, a member and a pending upload, so the
operations' positive cases reach real objects and not only 404s. The run is bounded: few
examples per operation, no shrinking, and a per-response time limit.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import engine
from schemathesis.engine import Status, events
from schemathesis.python import asgi

from spatialviz.app import create_app
from spatialviz.config import Settings
from tests.factories import (
    DEFAULT_PASSWORD,
    OBJECT_FACTORIES,
    Tenant,
    create_workspace,
    register_and_sign_in,
)

Case = schemathesis.Case[Any]

# Bounds of the run: examples per operation, and a fixed seed so CI runs the same cases
# every time (change it to explore; every seed tried while writing this passed).
MAX_EXAMPLES = 8
SEED = int(os.environ.get("SPATIALVIZ_SCHEMATHESIS_SEED", "20261203"))
# Operations whose success destroys the objects the rest of the run reaches: they get
# generated ids only, so they answer 404 instead of deleting the world.
DESTRUCTIVE_METHODS = frozenset({"DELETE"})
# Ending a session is tested with a session of its own, so the run's token stays valid.
OWN_SESSION_OPERATIONS = frozenset({("POST", "/api/v1/auth/logout")})
# What Schemathesis expects for a request its schema calls valid...
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
# ...and the operations whose acceptance rests on rules no JSON Schema can state, with the
# status they refuse a schema-valid request with (each a clear problem+json):
SEMANTIC_REFUSALS: dict[str, tuple[int, ...]] = {
    # the password-strength policy (a configured minimum length, breached-password lists)
    # and email-validator's rules, stricter than `format: email`
    "POST /api/v1/auth/register": (422,),
    "POST /api/v1/workspaces/{workspace_id}/members": (422,),
    # the bytes of an upload must be a readable table or point cloud (415 for an archive or
    # an unknown format); `columns` is JSON
    "POST /api/v1/datasets": (415, 422),
    # an encoding names the dataset's own columns
    "POST /api/v1/scenes": (422,),
    "PATCH /api/v1/scenes/{scene_id}": (422,),
    # the tus protocol answers a missing or other Tus-Resumable version with 412
    "POST /api/v1/uploads": (412,),
    "HEAD /api/v1/uploads/{upload_id}": (412,),
    "PATCH /api/v1/uploads/{upload_id}": (412,),
    "DELETE /api/v1/uploads/{upload_id}": (412,),
}
# Checks that misread an operation. Adding a member answers 404 for an email with no account;
# the stateful check takes that for the workspace it just created having vanished.
MISREAD: dict[str, dict[str, Any]] = {
    "POST /api/v1/workspaces/{workspace_id}/members": {
        "ensure_resource_availability": {"enabled": False}
    },
}
# Stateful links come from Location headers only: links inferred by matching field names pair
# unrelated ids (a new workspace with a stranger's user id) or follow null fields ("None").
LINK_INFERENCE = ["location-headers"]


def operation_checks() -> list[dict[str, Any]]:
    """Schemathesis `operations` entries (one per operation: the first match applies)."""
    names = sorted(set(SEMANTIC_REFUSALS) | set(MISREAD))
    entries = []
    for name in names:
        checks: dict[str, Any] = dict(MISREAD.get(name, {}))
        if name in SEMANTIC_REFUSALS:
            expected = [*ACCEPTED, *SEMANTIC_REFUSALS[name]]
            checks["positive_data_acceptance"] = {"expected-statuses": expected}
        entries.append({"include-name": name, "checks": checks})
    return entries


@dataclass(frozen=True)
class World:
    """The signed-in user's credentials and the ids of their real objects, by path
    parameter name."""

    email: str
    headers: dict[str, str]
    ids: dict[str, str]
    cursor: str


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    """Made through the API by an app of its own (in this event loop), closed before the
    run starts: Schemathesis serves its app from a thread of its own."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        user, headers = await register_and_sign_in(client)
        workspace = await create_workspace(client, headers, "Contract")
        tenant = Tenant(client, user, headers, str(workspace["id"]))
        for param in OBJECT_FACTORIES:
            await tenant.ensure(param)
        page = await client.get("/api/v1/jobs", params={"limit": 1}, headers=headers)
        cursor = page.json()["next_cursor"]
        assert cursor, page.text
        yield World(str(user["email"]), headers, dict(tenant.ids), cursor)


def own_session(app: Any, email: str) -> str:
    """A fresh access token, through the app under test."""
    with asgi.get_client(app) as client:
        response = client.post(
            "http://testserver/api/v1/auth/token",
            data={"username": email, "password": DEFAULT_PASSWORD},
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def signed_in_as(world: World) -> type:
    """An auth provider acting as the world's user; ending a session gets a session of its
    own, so the run's token stays valid."""

    class SignedIn:
        # schemathesis's auth-provider signature; the token is the same for every case.
        def get(self, case: Case, context: schemathesis.AuthContext) -> str:  # noqa: ARG002
            return world.headers["Authorization"].removeprefix("Bearer ")

        def set(self, case: Case, token: str, context: schemathesis.AuthContext) -> None:
            if (case.method.upper(), case.operation.path) in OWN_SESSION_OPERATIONS:
                token = own_session(context.app, world.email)
            case.headers["Authorization"] = f"Bearer {token}"

    return SignedIn


def reach_real_objects(world: World) -> Any:
    """A ``map_case`` hook: a positive case of a non-destructive operation names the user's
    own objects (negative cases keep their generated ids, so their mutation stays)."""

    def hook(context: schemathesis.HookContext, case: Case) -> Case:
        meta = case.meta
        if meta is None or meta.generation.mode.is_negative:
            return case
        if case.query and "cursor" in case.query:
            # A cursor is opaque: a client sends one it was given (next_cursor), never its own.
            case.query["cursor"] = world.cursor
        if case.method.upper() in DESTRUCTIVE_METHODS or not case.path_parameters:
            return case
        for name in case.path_parameters:
            if name in world.ids:
                case.path_parameters[name] = world.ids[name]
        return case

    return hook


def describe(recorder: Any, case_id: str, info: Any) -> str:
    """One line: where, what, and the request that showed it."""
    interaction = recorder.interactions.get(case_id)
    request = ""
    if interaction is not None and interaction.response is not None:
        request = f" [{interaction.request.method} {interaction.request.uri}"
        request += f" -> {interaction.response.status_code}]"
    message = " ".join(str(info.failure.message).split())[:160]
    return f"{recorder.label}: {info.failure.title}: {message}{request}"


def failures_of(stream: Any) -> tuple[list[str], int]:
    """(one line per failing check or error, cases run) from an engine event stream."""
    failures: list[str] = []
    cases = 0
    for event in stream:
        if isinstance(event, events.ScenarioFinished):
            cases += len(event.recorder.cases)
            for case_id, checks in event.recorder.checks.items():
                failures.extend(
                    describe(event.recorder, case_id, check.failure_info)
                    for check in checks
                    if check.status is Status.FAILURE and check.failure_info is not None
                )
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            failures.append(f"error: {event!r}")
    return sorted(set(failures)), cases


@pytest.mark.timeout(900)  # a bound for a busy machine; about 80 s on an idle one
def test_every_operation_keeps_the_contract(settings: Settings, world: World) -> None:
    app = create_app(settings)
    config = schemathesis.Config.from_dict(
        {
            "workers": 1,
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none", "no-shrink": True},
            "suppress-health-check": ["all"],
            "seed": SEED,
            # No state kept between runs (it would replay old cases and write to the tree).
            "cache": {"enabled": False},
            "operations": operation_checks(),
            "phases": {"stateful": {"inference": {"algorithms": LINK_INFERENCE}}},
        }
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    schema.auth(refresh_interval=None)(signed_in_as(world))
    schema.hook("map_case")(reach_real_objects(world))
    try:
        failures, cases = failures_of(engine.from_schema(schema).execute())
    finally:
        asgi.shutdown_lifespans()
    assert cases > 0
    assert failures == [], f"{len(failures)} contract failures in {cases} cases:\n" + "\n".join(
        failures
    )
