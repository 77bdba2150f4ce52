"""Subscribers of one channel share one feed: a crowd costs the database what one
subscriber does, each subscriber's access is still checked, and all of them get the final
state (a real uvicorn server, real sockets, both modes)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from fastapi import FastAPI
from sqlalchemy import event

from spatialviz.job.schemas import job_channel, job_message
from spatialviz.job.service import JobService
from spatialviz.kit.db import transaction, utcnow
from spatialviz.kit.resources import Resources
from spatialviz.models.job import Job, JobStatus
from spatialviz.realtime.hub import SIGN_IN_CONCURRENCY
from tests.factories import register_and_sign_in
from tests.job.helpers import RecordingQueue
from tests.redis_cluster import REDIS_KINDS, each_redis

SUBSCRIBERS = 60


@pytest.fixture(params=REDIS_KINDS)
def redis_url(request: pytest.FixtureRequest, redis_url: str | None) -> Iterator[str | None]:
    """Every test here runs on a single Redis node, a Redis Cluster and behind Sentinel
    (services mode)."""
    yield from each_redis(request, redis_url)


@pytest.fixture
def ws_url(server_url: str) -> str:
    return f"{server_url}/api/v1/ws"


class PeakCheckouts:
    """The most database connections the app's pool had checked out at once."""

    def __init__(self, resources: Resources) -> None:
        self.now = self.peak = 0
        pool = resources.engine.sync_engine.pool
        event.listen(pool, "checkout", self._out)
        event.listen(pool, "checkin", self._in)

    def _out(self, *_: Any) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)

    def _in(self, *_: Any) -> None:
        self.now -= 1


async def _queued_job(resources: Resources, workspace_id: str) -> uuid.UUID:
    async with transaction(resources.sessions) as session:
        job = await JobService(session, RecordingQueue(), resources.pubsub).create(
            workspace_id=uuid.UUID(workspace_id), kind="example.sleep"
        )
        return job.id


async def _finish(resources: Resources, job_id: uuid.UUID) -> None:
    async with transaction(resources.sessions) as session:
        job = await session.get(Job, job_id)
        assert job is not None
        job.status, job.progress, job.finished_at = JobStatus.succeeded, 1.0, utcnow()
        await session.flush()
        message = job_message(job)
    await resources.pubsub.publish(job_channel(job_id), message)


async def _first_answers(url: str, channel: str) -> tuple[Any, dict[str, Any]]:
    ws = await websockets.connect(url, open_timeout=60)
    assert json.loads(await ws.recv())["type"] == "hello"
    await ws.send(json.dumps({"type": "subscribe", "channel": channel}))
    return ws, json.loads(await asyncio.wait_for(ws.recv(), 60))


async def _final(ws: Any) -> str:
    try:
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if message["type"] == "job" and message["job"]["status"] == "succeeded":
                return "succeeded"
    finally:
        await ws.close()


async def test_a_crowd_shares_one_feed(
    app: FastAPI, client: httpx.AsyncClient, ws_url: str
) -> None:
    resources: Resources = app.state.resources
    owner, owner_headers = await register_and_sign_in(client)
    _, stranger_headers = await register_and_sign_in(client)
    job_id = await _queued_job(resources, owner["personal_workspace_id"])
    channel = job_channel(job_id)
    token = owner_headers["Authorization"].removeprefix("Bearer ")
    checkouts = PeakCheckouts(resources)

    opened = await asyncio.gather(
        *(_first_answers(f"{ws_url}?token={token}", channel) for _ in range(SUBSCRIBERS))
    )
    assert all(answer == {"type": "subscribed", "channel": channel} for _, answer in opened)
    stranger = stranger_headers["Authorization"].removeprefix("Bearer ")
    ws, answer = await _first_answers(f"{ws_url}?token={stranger}", channel)
    await ws.close()
    assert answer == {"type": "error", "code": "not_found", "channel": channel}

    finals = [asyncio.create_task(_final(ws)) for ws, _ in opened]
    await _finish(resources, job_id)
    assert await asyncio.gather(*finals) == ["succeeded"] * SUBSCRIBERS
    # Sign-ins take turns; the feed reads once; nothing else needs the database.
    assert checkouts.peak <= SIGN_IN_CONCURRENCY + 1
