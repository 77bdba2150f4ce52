"""Every log event the app emits is ECS (issue 13, "Logs"): real requests, an upload whose
ingest runs, and jobs run by the worker runtime, all with JSON logging; each line parsed,
each field either an ECS 8.11 field we use (with its ECS type) or under ``spatialviz.``,
nested objects rather than dotted keys, mapped in deploy/elasticsearch/index-template.json
with a type its value fits, and no secret in any line."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from spatialviz.app import create_app
from spatialviz.config import Settings
from spatialviz.job import runtime
from spatialviz.job.worker import WorkerRuntime, configure_worker_logging
from spatialviz.kit import logging as kit_logging
from spatialviz.kit.resources import open_resources
from spatialviz.signing import signatures
from tests.conftest import TEST_SECRET, find_leaks
from tests.dataset.helpers import csv_bytes, upload, wait_for_dataset
from tests.deploy.log_template import mapped_fields
from tests.factories import DEFAULT_PASSWORD, bearer, create_api_key, register, sign_in
from tests.job.helpers import create_job, make_workspace

#: The ECS 8.11 fields the app writes, with their type in the ECS field reference.
ECS_FIELDS = {
    "@timestamp": "date",
    "message": "match_only_text",
    "ecs.version": "keyword",
    "log.level": "keyword",
    "log.logger": "keyword",
    "service.name": "keyword",
    "service.version": "keyword",
    "service.environment": "keyword",
    "event.duration": "long",
    "event.action": "keyword",
    "event.reason": "keyword",
    "http.request.id": "keyword",
    "http.request.method": "keyword",
    "http.response.status_code": "long",
    "url.path": "wildcard",
    "client.ip": "ip",
    "user.id": "keyword",
    "file.path": "keyword",
    "error.type": "keyword",
    "error.message": "match_only_text",
    "error.stack_trace": "wildcard",
}
#: Elasticsearch types that index the same way for our purpose (a query on one works on the
#: other), and the JSON values each accepts.
FAMILY = {
    "keyword": "keyword",
    "constant_keyword": "keyword",
    "wildcard": "keyword",
    "match_only_text": "text",
    "text": "text",
    "long": "long",
    "date": "date",
    "ip": "ip",
    "boolean": "boolean",
}


def _fits(es_type: str, value: Any) -> bool:
    family = FAMILY[es_type]
    if family in ("keyword", "text"):
        return isinstance(value, str)
    if family == "long":
        return isinstance(value, int) and not isinstance(value, bool)
    if family == "boolean":
        return isinstance(value, bool)
    if family == "date":
        return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
    ipaddress.ip_address(value)  # raises for a non-address
    return True


def _leaves(
    document: dict[str, Any], parents: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in document.items():
        if isinstance(value, dict):
            yield from _leaves(value, (*parents, key))
        else:
            yield (*parents, key), value


@pytest.fixture
def json_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"log_format": "json"})


def _run_jobs_in_this_process(settings: Settings, job_ids: list[uuid.UUID]) -> None:
    """What a worker process does (it configures logging the same way), here, so its
    events are captured with the API's."""
    configure_worker_logging(settings)
    rt = WorkerRuntime(settings)
    try:
        for job_id in job_ids:
            runtime.run_job(rt, str(job_id))
    finally:
        rt.close()


async def _exercise(settings: Settings) -> dict[str, str]:
    """Requests and jobs that log, some carrying secrets; the secrets, by name."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            user = await register(client)
            tokens = await sign_in(client, user["email"])
            headers = bearer(tokens["access_token"])
            workspace_id = user["personal_workspace_id"]
            key = (await create_api_key(client, headers, workspace_id))["key"]
            scene = uuid.uuid4()
            grant = signatures.Grant(signatures.GrantKind.member, uuid.uuid4())
            sig = signatures.sign(scene, "read", 2_000_000_000, TEST_SECRET, grant=grant)
            await client.get(f"/api/v1/scenes/{scene}/tileset.json", params={"sig": sig})
            await client.get("/api/v1/workspaces", headers=bearer(key))
            await client.get("/api/v1/workspaces", headers=bearer(tokens["access_token"] + "x"))
            await client.post(
                "/api/v1/auth/token", data={"username": user["email"], "password": "wrong-pw"}
            )
            await client.post("/api/v1/auth/refresh", json={"refresh_token": "svr_" + "z" * 40})
            await client.get("/api/v1/no-such-route")
            created = await upload(client, headers, workspace_id, csv_bytes(50))
            assert created.status_code == 202, created.text
            await wait_for_dataset(client, headers, created.json()["dataset"]["id"])
    # Jobs outside the app's runner (its jobs run in pool processes, whose stderr is not
    # this test's): recorded with no runner, then run here, one of them crashing.
    resources = open_resources(settings)
    try:
        workspace = await make_workspace(resources)
        job_ids = [
            await create_job(resources, workspace, params={"steps": 1, "step_seconds": 0}),
            await create_job(resources, workspace, params={"steps": "not a number"}),
        ]
    finally:
        await resources.aclose()
    await asyncio.to_thread(_run_jobs_in_this_process, settings, job_ids)
    return {
        "access token": tokens["access_token"],
        "refresh token": tokens["refresh_token"],
        "API key": key,
        "tile signature": sig,
        "password": DEFAULT_PASSWORD,
    }


async def test_every_event_is_ecs_mapped_and_free_of_secrets(
    json_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets = await _exercise(json_settings)
    kit_logging._stop_listener()  # writes out what is queued
    text = capsys.readouterr().err
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) > 20, text

    ecs_or_ours: set[str] = set()
    wrong: list[str] = []
    mapped = mapped_fields()
    for line in lines:
        event = json.loads(line)  # every line: a line that is not JSON bypassed the format
        for keys, value in _leaves(event):
            path = ".".join(keys)
            ecs_or_ours.add(path)
            if any("." in key for key in keys if key != "@timestamp"):
                wrong.append(f"{path}: a dotted key, not nested objects ({event['message']})")
            elif path not in ECS_FIELDS and not path.startswith("spatialviz."):
                wrong.append(f"{path}: neither ECS nor spatialviz.* ({event['message']})")
            elif path not in mapped:
                wrong.append(f"{path}: not in index-template.json ({event['message']})")
            elif path in ECS_FIELDS and FAMILY[mapped[path]] != FAMILY[ECS_FIELDS[path]]:
                wrong.append(f"{path}: mapped {mapped[path]}, ECS says {ECS_FIELDS[path]}")
            elif not _fits(mapped[path], value):
                wrong.append(f"{path}: {value!r} does not fit {mapped[path]}")
    assert not wrong, "\n".join(sorted(set(wrong)))

    # The run was representative: access lines, audit, jobs, an exception.
    assert {
        "http.response.status_code",
        "event.duration",
        "client.ip",
        "user.id",
        "event.action",
        "event.reason",
        "spatialviz.job.id",
        "spatialviz.job.kind",
        "error.type",
        "error.stack_trace",
        "service.environment",
    } <= ecs_or_ours, sorted(ecs_or_ours)

    leaked = [name for name, secret in secrets.items() if secret in text]
    assert not leaked, leaked
    assert not find_leaks(text), find_leaks(text)


def test_duration_is_in_nanoseconds_and_none_is_left_out() -> None:
    event = kit_logging._to_ecs(
        None, "info", {"event": "request", "duration_ms": 12.5, "job_id": None, "status": 200}
    )
    assert event["event"] == {"duration": 12_500_000}
    assert "spatialviz" not in event
    assert event["http"] == {"response": {"status_code": 200}}
