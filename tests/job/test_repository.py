"""The runner's SQL: atomic claim, fencing, and the reaper."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from spatialviz.config import Settings
from spatialviz.job.liveness import process_identity
from spatialviz.job.registry import get_kind
from spatialviz.job.repository import JobStore
from spatialviz.kit.db import transaction, utcnow
from spatialviz.kit.resources import Resources
from spatialviz.models.job import Job, JobStatus
from spatialviz.scene.service import TILE_KIND
from tests.job.helpers import load_job, make_workspace, reap_once


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # These tests reap by hand: keep the app's own reaper out of the way.
    return settings.model_copy(update={"jobs_reap_interval_seconds": 3600.0})


async def _job(resources: Resources, **values: object) -> uuid.UUID:
    workspace = await make_workspace(resources)
    async with transaction(resources.sessions) as session:
        values.setdefault("kind", "example.sleep")
        job = Job(workspace_id=workspace, params={}, **values)
        session.add(job)
        await session.flush()
        return job.id


async def _claim(resources: Resources, job_id: uuid.UUID, worker: str) -> Job | None:
    async with transaction(resources.sessions) as session:
        return await JobStore(session).claim(job_id, worker, utcnow() - timedelta(seconds=60))


async def test_concurrent_claims_have_one_winner(resources: Resources) -> None:
    job_id = await _job(resources)
    results = await asyncio.gather(*(_claim(resources, job_id, f"w{i}") for i in range(3)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0].attempts == 1


async def test_a_reclaimed_job_fences_out_the_old_attempt(resources: Resources) -> None:
    stale = utcnow() - timedelta(minutes=10)
    job_id = await _job(resources, status=JobStatus.running, attempts=1, heartbeat_at=stale)
    claimed = await _claim(resources, job_id, "new")
    assert claimed is not None
    assert claimed.attempts == 2
    async with transaction(resources.sessions) as session:
        store = JobStore(session)
        assert await store.touch(job_id, 1, progress=0.5) is None
        assert not await store.finish(job_id, 1, JobStatus.succeeded)
        assert await store.touch(job_id, 2, progress=0.5) is False


async def test_progress_of_an_attempt_never_goes_back(resources: Resources) -> None:
    """A late or out-of-phase report of an attempt leaves its bar where it was."""
    job_id = await _job(resources)
    assert await _claim(resources, job_id, "w") is not None
    async with transaction(resources.sessions) as session:
        store = JobStore(session)
        assert await store.touch(job_id, 1, progress=0.5) is False
        assert await store.touch(job_id, 1, progress=0.05, stage="later") is False
    job = await load_job(resources, job_id)
    assert (job.progress, job.stage) == (0.5, "later")


async def test_reaper_requeues_then_fails_dead_workers_jobs(
    resources: Resources, settings: Settings
) -> None:
    stale = utcnow() - timedelta(minutes=10)
    retry = await _job(
        resources, status=JobStatus.running, attempts=3, max_attempts=3, heartbeat_at=stale
    )
    spent = await _job(
        resources,
        status=JobStatus.running,
        attempts=6,
        worker_losses=settings.jobs_max_worker_losses,
        heartbeat_at=stale,
    )
    asked = await _job(
        resources, status=JobStatus.running, attempts=1, heartbeat_at=stale, cancel_requested=True
    )
    alive = await _job(resources, status=JobStatus.running, attempts=1, heartbeat_at=utcnow())

    resend = await reap_once(resources)
    assert [job_id for job_id, _ in resend] == [retry]
    requeued = await load_job(resources, retry)
    # Its last attempt was a lost worker, not a failure: it may run once more.
    assert (requeued.status, requeued.worker_losses) == (JobStatus.queued, 1)
    assert await _claim(resources, retry, "next") is not None
    failed = await load_job(resources, spent)
    assert (failed.status, failed.error_code) == (JobStatus.failed, "worker_lost")
    assert (await load_job(resources, asked)).status == JobStatus.cancelled
    assert (await load_job(resources, alive)).status == JobStatus.running


async def _heartbeat_was(resources: Resources, job_id: uuid.UUID, moment: datetime) -> None:
    """The worker's last heartbeat was at ``moment`` (time passes without waiting)."""
    async with transaction(resources.sessions) as session:
        await session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=moment))


def _dead_process_identity() -> str:
    """The name a worker on this host had, once its process has ended."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    name = process_identity(process.pid)
    process.kill()
    process.wait()
    return name


async def test_two_worker_losses_do_not_fail_a_scene_tiling(resources: Resources) -> None:
    """scene.tile allows 2 attempts; two lost workers in a row use up none of them."""
    assert get_kind(TILE_KIND).max_attempts == 2
    job_id = await _job(resources, kind=TILE_KIND, max_attempts=2)
    for loss in (1, 2):
        claimed = await _claim(resources, job_id, _dead_process_identity())
        assert claimed is not None
        assert claimed.attempts == loss
        await _heartbeat_was(resources, job_id, utcnow() - timedelta(seconds=30))
        resend = await reap_once(resources)
        assert resend == [(job_id, TILE_KIND)]
        job = await load_job(resources, job_id)
        assert (job.status, job.worker_losses) == (JobStatus.queued, loss)
    third = await _claim(resources, job_id, process_identity())
    assert third is not None
    assert third.attempts == 3


async def test_a_late_heartbeat_of_a_live_worker_keeps_its_job(resources: Resources) -> None:
    """A busy machine may delay a live worker's heartbeat far beyond every limit: a worker
    this host can see running keeps its job; one it cannot see (another host) keeps it
    until the wide limit; one known gone loses it at once."""
    very_late = utcnow() - timedelta(hours=1)
    a_little_late = utcnow() - timedelta(seconds=30)
    live = await _job(
        resources,
        status=JobStatus.running,
        attempts=1,
        worker=process_identity(),
        heartbeat_at=very_late,
    )
    elsewhere = await _job(
        resources,
        status=JobStatus.running,
        attempts=1,
        worker="another-host:4242:12345",
        heartbeat_at=a_little_late,
    )
    gone = await _job(
        resources,
        status=JobStatus.running,
        attempts=1,
        worker=_dead_process_identity(),
        heartbeat_at=a_little_late,
    )
    resend = await reap_once(resources)
    assert resend == [(gone, "example.sleep")]
    assert (await load_job(resources, live)).status == JobStatus.running
    assert (await load_job(resources, elsewhere)).status == JobStatus.running
