"""1,000 WebSocket subscribers follow one job: every one receives the final state, and the
API uses no more database connections for them than for one (a shared feed per channel)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import asyncpg
import httpx
from websockets.asyncio.client import ClientConnection, connect

from spatialviz.config import Settings
from spatialviz.job.schemas import job_channel, job_message
from spatialviz.job.service import JobService
from spatialviz.kit.db import transaction, utcnow
from spatialviz.kit.resources import Resources, open_resources
from spatialviz.models.job import Job, JobStatus
from tests.conftest import TEST_SECRET
from tests.drills.conftest import api_env, figure, sign_up
from tests.drills.processes import ApiServer
from tests.job.helpers import RecordingQueue

SUBSCRIBERS = 1000
CONNECTING_AT_ONCE = 100


def _resources(database_url: str, redis_url: str, var_dir: Path) -> Resources:
    settings = Settings(
        env="test",
        var_dir=var_dir,
        database_url=database_url,
        redis_url=redis_url,
        secret_key=TEST_SECRET,
    )
    return open_resources(settings)


async def _queued_job(resources: Resources, workspace: str) -> uuid.UUID:
    async with transaction(resources.sessions) as session:
        job = await JobService(session, RecordingQueue(), resources.pubsub).create(
            workspace_id=uuid.UUID(workspace), kind="example.sleep"
        )
        return job.id


async def _finish(resources: Resources, job_id: uuid.UUID) -> None:
    """What a worker does at the end: commit the final state, then announce it."""
    async with transaction(resources.sessions) as session:
        job = await session.get(Job, job_id)
        assert job is not None
        job.status, job.progress, job.finished_at = JobStatus.succeeded, 1.0, utcnow()
        await session.flush()
        message = job_message(job)
    await resources.pubsub.publish(job_channel(job_id), message)


async def _subscribe(url: str, channel: str, gate: asyncio.Semaphore) -> ClientConnection | str:
    """A subscribed socket that has the job's current state, or what went wrong."""
    async with gate:
        try:
            ws = await connect(url, open_timeout=120, max_queue=64)
        except Exception as exc:
            return f"refused:{type(exc).__name__}"
        try:
            assert json.loads(await ws.recv())["type"] == "hello"
            await ws.send(json.dumps({"type": "subscribe", "channel": channel}))
            answer = json.loads(await ws.recv())
            if answer == {"type": "subscribed", "channel": channel}:
                assert json.loads(await ws.recv())["job"]["status"] == "queued"
                return ws
            failure = f"error:{answer.get('code')}"
        except Exception as exc:
            failure = f"lost:{type(exc).__name__}"
        await ws.close()
        return failure


async def _final_status(ws: ClientConnection) -> str | None:
    try:
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if message.get("type") != "job":
                return f"error:{message.get('code')}"
            status: str = message["job"]["status"]
            if status in ("succeeded", "failed", "cancelled"):
                return status
    except Exception as exc:
        return f"lost:{type(exc).__name__}"
    finally:
        await ws.close()


async def _api_connections(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return count
    finally:
        await conn.close()


async def _drill(api: ApiServer, database_url: str, redis_url: str, var_dir: Path) -> None:
    with httpx.Client(base_url=api.url, timeout=30) as client:
        headers, workspace = sign_up(client)
    resources = _resources(database_url, redis_url, var_dir)
    try:
        job_id = await _queued_job(resources, workspace)
    finally:
        await resources.aclose()  # the drill's own connections must not be counted
    dsn = database_url.replace("+asyncpg", "")
    before = await _api_connections(dsn)

    token = headers["Authorization"].removeprefix("Bearer ")
    url = f"ws://127.0.0.1:{api.port}/api/v1/ws?token={token}"
    gate = asyncio.Semaphore(CONNECTING_AT_ONCE)
    channel = job_channel(job_id)
    sockets = await asyncio.gather(*(_subscribe(url, channel, gate) for _ in range(SUBSCRIBERS)))
    failed = [s for s in sockets if isinstance(s, str)]
    finals = [asyncio.create_task(_final_status(s)) for s in sockets if not isinstance(s, str)]

    resources = _resources(database_url, redis_url, var_dir)
    try:
        await _finish(resources, job_id)
    finally:
        await resources.aclose()
    outcomes = [*failed, *await asyncio.gather(*finals)]
    used = await _api_connections(dsn)

    got_final = sum(1 for o in outcomes if o == "succeeded")
    figure("ws_subscribers_with_final_state", f"{got_final}/{SUBSCRIBERS}")
    figure("ws_api_db_connections", {"before_subscribers": before, "after": used})
    assert got_final == SUBSCRIBERS, sorted({str(o) for o in outcomes})
    assert used <= 5


def test_thousand_subscribers_share_one_feed(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    api = ApiServer(api_env(tmp_path, database_url, redis_url=redis_url), tmp_path / "api.log")
    api.start()
    try:
        asyncio.run(_drill(api, database_url, redis_url, tmp_path / "var"))
    finally:
        api.stop()
