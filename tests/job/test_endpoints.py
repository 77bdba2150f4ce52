"""The jobs HTTP API and the WebSocket protocol, through a real server for the socket."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
import websockets

from spatialviz.job.service import JobService
from spatialviz.kit.db import transaction
from spatialviz.kit.errors import PROBLEM_JSON
from spatialviz.kit.resources import Resources
from tests.conftest import receive_json
from tests.factories import register_and_sign_in
from tests.job.helpers import RecordingQueue, create_job


async def _queued_job(resources: Resources, workspace_id: str, **params: Any) -> str:
    """A job recorded but never sent: it stays queued, whatever the test does."""
    async with transaction(resources.sessions) as session:
        job = await JobService(session, RecordingQueue(), resources.pubsub).create(
            workspace_id=uuid.UUID(workspace_id), kind="example.sleep", params=params
        )
        return str(job.id)


async def test_get_list_cancel_retry(client: httpx.AsyncClient, resources: Resources) -> None:
    user, headers = await register_and_sign_in(client)
    workspace = user["personal_workspace_id"]
    first = await _queued_job(resources, workspace)
    second = await _queued_job(resources, workspace)

    response = await client.get(f"/api/v1/jobs/{first}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "queued"

    page = (await client.get("/api/v1/jobs?limit=1", headers=headers)).json()
    assert [j["id"] for j in page["items"]] == [second]
    rest = await client.get(f"/api/v1/jobs?limit=1&cursor={page['next_cursor']}", headers=headers)
    assert [j["id"] for j in rest.json()["items"]] == [first]
    assert rest.json()["next_cursor"] is None
    filtered = await client.get(f"/api/v1/jobs?dataset_id={uuid.uuid4()}", headers=headers)
    assert filtered.json()["items"] == []

    cancelled = await client.post(f"/api/v1/jobs/{first}/cancel", headers=headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    retried = await client.post(f"/api/v1/jobs/{first}/retry", headers=headers)
    assert retried.status_code == 200
    assert retried.json()["status"] == "queued"
    again = await client.post(f"/api/v1/jobs/{first}/retry", headers=headers)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith(PROBLEM_JSON)
    assert again.json()["code"] == "job_not_retryable"


async def test_another_workspace_job_is_not_found(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    owner, _ = await register_and_sign_in(client)
    job_id = await _queued_job(resources, owner["personal_workspace_id"])
    _, stranger = await register_and_sign_in(client)
    for method, path in [
        ("GET", f"/api/v1/jobs/{job_id}"),
        ("POST", f"/api/v1/jobs/{job_id}/cancel"),
        ("POST", f"/api/v1/jobs/{job_id}/retry"),
    ]:
        response = await client.request(method, path, headers=stranger)
        assert response.status_code == 404, (method, path)
    listed = await client.get("/api/v1/jobs", headers=stranger)
    assert listed.json()["items"] == []
    assert (await client.get(f"/api/v1/jobs/{job_id}")).status_code == 401


async def test_openapi_declares_job_errors(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    cancel = spec["paths"]["/api/v1/jobs/{job_id}/cancel"]["post"]["responses"]
    assert {"401", "403", "404", "409"} <= set(cancel)


async def test_websocket_subscriber_gets_progress_and_final_state(
    client: httpx.AsyncClient, resources: Resources, server_url: str
) -> None:
    user, headers = await register_and_sign_in(client)
    token = headers["Authorization"].removeprefix("Bearer ")
    other, _ = await register_and_sign_in(client)
    foreign = await _queued_job(resources, other["personal_workspace_id"])

    async with websockets.connect(f"{server_url}/api/v1/ws?token={token}") as ws:
        assert await receive_json(ws) == {"type": "hello", "protocol": 1}
        await ws.send(json.dumps({"type": "subscribe", "channel": f"job:{foreign}"}))
        assert await receive_json(ws) == {
            "type": "error",
            "code": "not_found",
            "channel": f"job:{foreign}",
        }
        await ws.send(json.dumps({"type": "ping"}))
        assert await receive_json(ws) == {"type": "pong"}

        workspace = uuid.UUID(user["personal_workspace_id"])
        params = {"steps": 10, "step_seconds": 0.1}
        job_id = await create_job(resources, workspace, params=params)
        await ws.send(json.dumps({"type": "subscribe", "channel": f"job:{job_id}"}))
        assert (await receive_json(ws))["type"] == "subscribed"
        states = []
        while True:
            message = await receive_json(ws)
            assert message["type"] == "job"
            states.append(message["job"])
            if message["job"]["status"] in ("succeeded", "failed", "cancelled"):
                break
    assert states[-1]["status"] == "succeeded"
    assert states[-1]["progress"] == 1.0
    progress = [s["progress"] for s in states if s["status"] == "running"]
    assert any(0 < p < 1 for p in progress), states


async def test_websocket_rejects_missing_token(server_url: str) -> None:
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(f"{server_url}/api/v1/ws?token=nope"):
            pass
