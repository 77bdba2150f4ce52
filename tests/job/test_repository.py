"""The runner's SQL: atomic claim, fencing, and the reaper."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from spatialviz.config import Settings
from spatialviz.job.repository import JobStore
from spatialviz.kit.db import transaction, utcnow
from spatialviz.kit.resources import Resources
from spatialviz.models.job import Job, JobStatus
from tests.job.helpers import load_job, make_workspace, reap_once


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # These tests reap by hand: keep the app's own reaper out of the way.
    return settings.model_copy(update={"jobs_reap_interval_seconds": 3600.0})


async def _job(resources: Resources, **values: object) -> uuid.UUID:
    workspace = await make_workspace(resources)
    async with transaction(resources.sessions) as session:
        job = Job(workspace_id=workspace, kind="example.sleep", params={}, **values)
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


async def test_reaper_requeues_then_fails_dead_workers_jobs(resources: Resources) -> None:
    stale = utcnow() - timedelta(minutes=10)
    retry = await _job(
        resources, status=JobStatus.running, attempts=1, max_attempts=3, heartbeat_at=stale
    )
    spent = await _job(
        resources, status=JobStatus.running, attempts=3, max_attempts=3, heartbeat_at=stale
    )
    asked = await _job(
        resources, status=JobStatus.running, attempts=1, heartbeat_at=stale, cancel_requested=True
    )
    alive = await _job(resources, status=JobStatus.running, attempts=1, heartbeat_at=utcnow())

    resend = await reap_once(resources)
    assert [job_id for job_id, _ in resend] == [retry]
    assert (await load_job(resources, retry)).status == JobStatus.queued
    failed = await load_job(resources, spent)
    assert (failed.status, failed.error_code) == (JobStatus.failed, "worker_lost")
    assert (await load_job(resources, asked)).status == JobStatus.cancelled
    assert (await load_job(resources, alive)).status == JobStatus.running
