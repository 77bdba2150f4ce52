"""The embedded server (SQLite, in-process job pool) is killed with SIGKILL while its pool
computes a job: no process of it survives (forkserver, pool worker, resource tracker), so a
restarted server is the only one running the job."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from pathlib import Path

from spatialviz.config import Settings
from spatialviz.job.service import JobService
from spatialviz.kit.db import transaction
from spatialviz.kit.migrate import upgrade
from spatialviz.kit.resources import open_resources
from spatialviz.models.workspace import Workspace
from tests.conftest import TEST_SECRET
from tests.drills.conftest import api_env, figure
from tests.drills.processes import ApiServer, holds_within, session_processes, wait_until
from tests.job.helpers import RecordingQueue


async def _queued_long_job(database_url: str, var_dir: Path) -> uuid.UUID:
    """A job recorded but not sent: the server resumes it when it starts."""
    resources = open_resources(
        Settings(env="test", var_dir=var_dir, database_url=database_url, secret_key=TEST_SECRET)
    )
    try:
        async with transaction(resources.sessions) as session:
            workspace = Workspace(name="drill")
            session.add(workspace)
            await session.flush()
            job = await JobService(session, RecordingQueue(), resources.pubsub).create(
                workspace_id=workspace.id,
                kind="example.sleep",
                params={"steps": 600, "step_seconds": 0.5},
            )
            return job.id
    finally:
        await resources.aclose()


def _progress(db: Path, job_id: uuid.UUID) -> float | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT progress FROM jobs WHERE id = ? AND status = 'running'", (job_id.hex,)
        ).fetchone()
    return row[0] if row and row[0] > 0 else None


def test_killed_embedded_server_leaves_no_process(tmp_path: Path) -> None:
    db = tmp_path / "embedded.db"
    url = f"sqlite+aiosqlite:///{db}"
    upgrade(url)
    job_id = asyncio.run(_queued_long_job(url, tmp_path / "var"))
    api = ApiServer(api_env(tmp_path, url), tmp_path / "api.log")
    api.start()
    try:
        wait_until(lambda: _progress(db, job_id), 60, "the pool computing the job")
        family = session_processes(api.pid)
        assert len(family) >= 3, family  # server, forkserver, pool worker (+ tracker)

        api.kill()
        killed = time.monotonic()
        holds_within(lambda: not session_processes(api.pid), 30)
        gone = time.monotonic() - killed
        left = session_processes(api.pid)
        figure("embedded_killed_processes_before_kill", len(family))
        figure("embedded_killed_processes_left", len(left))
        figure("embedded_killed_seconds_until_none_left", round(gone, 2))
        assert not left
        assert gone < 5
    finally:
        api.stop()
