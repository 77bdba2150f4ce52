"""Route-walking security tests: they enumerate the app's routes, so a new route is covered
the moment it exists.

1. Without credentials, every route under /api/v1 answers 401 problem+json, except the
   explicit public allow-list below.
2. Another workspace's object answers 404 on every route with path parameters, for every
   verb, both for a signed-in user and for an API key. Each path parameter name needs a
   factory in ``tests.factories.OBJECT_FACTORIES``; a parameter without one fails the test.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from spatialviz.kit.errors import PROBLEM_JSON
from tests.factories import (
    Tenant,
    bearer,
    create_api_key,
    create_workspace,
    register_and_sign_in,
)

API_PREFIX = "/api/v1"
# (method, path template) that answer without credentials. Keep it short and explicit.
PUBLIC_ROUTES = frozenset(
    {
        ("POST", "/api/v1/auth/register"),
        ("POST", "/api/v1/auth/token"),
        ("POST", "/api/v1/auth/refresh"),
    }
)
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z]+)?}")


def api_routes(app: FastAPI) -> Iterator[tuple[str, str, list[str]]]:
    """(method, path template, path parameter names) for every HTTP route under /api/v1."""
    # iter_route_contexts flattens included routers (FastAPI keeps them nested).
    for context in iter_route_contexts(app.routes):
        path, methods = context.path, context.methods
        if not isinstance(context.original_route, APIRoute) or not path or not methods:
            continue
        if path.startswith(API_PREFIX):
            for method in sorted(methods - {"HEAD", "OPTIONS"}):
                yield method, path, _PARAM.findall(path)


def fill(template: str, values: dict[str, str]) -> str:
    return _PARAM.sub(lambda m: values[m.group(1)], template)


async def _call(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str] | None
) -> httpx.Response:
    kwargs: dict[str, object] = {"headers": headers or {}}
    if method in BODY_METHODS:
        kwargs["json"] = {}
    return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


async def test_public_allow_list_names_real_routes(app: FastAPI) -> None:
    routes = {(m, p) for m, p, _ in api_routes(app)}
    assert routes >= PUBLIC_ROUTES, PUBLIC_ROUTES - routes


async def test_every_protected_route_needs_credentials(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    failures = []
    checked = 0
    for method, template, params in api_routes(app):
        if (method, template) in PUBLIC_ROUTES:
            continue
        path = fill(template, {p: str(uuid.uuid4()) for p in params})
        for headers in (None, bearer("garbage"), {"Authorization": "Basic dTpw"}):
            response = await _call(client, method, path, headers)
            checked += 1
            if (
                response.status_code != 401
                or response.headers.get("content-type") != PROBLEM_JSON
                or "bearer" not in response.headers.get("www-authenticate", "").lower()
            ):
                failures.append(f"{method} {template} {headers}: {response.status_code}")
    assert checked >= 3 * 10
    assert failures == []


async def test_another_workspace_is_404_on_every_object_route(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user_a, headers_a = await register_and_sign_in(client)
    team = await create_workspace(client, headers_a, "A's team")
    tenant = Tenant(client=client, user=user_a, headers=headers_a, workspace_id=team["id"])
    _, headers_b = await register_and_sign_in(client)
    b_personal = (await client.get("/api/v1/workspaces", headers=headers_b)).json()["items"][0]
    key_b = await create_api_key(client, headers_b, b_personal["id"], role="owner")
    intruders = {"user B": headers_b, "B's owner API key": bearer(key_b["key"])}

    object_routes = [(m, t, p) for m, t, p in api_routes(app) if p]
    assert object_routes, "no object routes found"
    missing: set[str] = set()
    failures: list[str] = []
    for method, template, params in object_routes:
        values: dict[str, str] = {}
        try:
            for name in params:
                values[name] = await tenant.ensure(name)
        except LookupError:
            missing.update(p for p in params if p not in tenant.ids)
            continue
        path = fill(template, values)
        for who, headers in intruders.items():
            response = await _call(client, method, path, headers)
            if response.status_code != 404 or response.headers["content-type"] != PROBLEM_JSON:
                failures.append(f"{who}: {method} {template} -> {response.status_code}")

    assert not missing, (
        f"path parameters without a factory: {sorted(missing)}; add them to "
        "tests/factories.py OBJECT_FACTORIES"
    )
    assert failures == []
    # Not vacuous: A still reaches every object B was refused (and B destroyed nothing).
    for method, template, params in object_routes:
        if method == "GET":
            path = fill(template, {p: tenant.ids[p] for p in params})
            response = await client.get(path, headers=headers_a)
            assert response.status_code < 400, f"A: GET {template} -> {response.status_code}"
