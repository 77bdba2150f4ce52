"""Plain helpers for job tests: a workspace, a job created the way a service creates it,
and waiting for a job to reach a state."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select

from spatialviz.job.service import JobService
from spatialviz.job.supervisor import reap
from spatialviz.kit.db import transaction
from spatialviz.kit.resources import Resources
from spatialviz.models.job import Job, JobStatus
from spatialviz.models.job_part import JobPart
from spatialviz.models.workspace import Workspace
from tests.job import kinds

# Importing the tests' kinds registers them in this process (workers load them from the
# settings' ``jobs_kind_modules``).
KIND_NAMES = (kinds.SLEEP, kinds.FANOUT)


async def make_workspace(resources: Resources, name: str = "jobs") -> uuid.UUID:
    async with transaction(resources.sessions) as session:
        workspace = Workspace(name=name)
        session.add(workspace)
        await session.flush()
        return workspace.id


async def create_job(
    resources: Resources,
    workspace_id: uuid.UUID,
    kind: str = "example.sleep",
    params: dict[str, Any] | None = None,
    **kwargs: Any,
) -> uuid.UUID:
    async with transaction(resources.sessions) as session:
        job = await JobService(session, resources.jobs, resources.pubsub).create(
            workspace_id=workspace_id, kind=kind, params=params or {}, **kwargs
        )
        return job.id


async def load_job(resources: Resources, job_id: uuid.UUID) -> Job:
    async with resources.sessions() as session:
        job = await session.get(Job, job_id, populate_existing=True)
        assert job is not None
        return job


async def wait_for(
    resources: Resources,
    job_id: uuid.UUID,
    condition: Callable[[Job], bool],
    within: float = 240.0,
    interval: float = 0.05,
) -> Job:
    """Poll until ``condition`` holds. ``within`` only bounds a job that is stuck: it is
    wide, because a machine busy enough (a CI runner beside other work, ``stress``) runs
    a job many times slower than an idle one."""
    deadline = time.monotonic() + within
    while True:
        job = await load_job(resources, job_id)
        if condition(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(
                f"job {job_id} stuck: status={job.status} progress={job.progress} "
                f"stage={job.stage!r} attempts={job.attempts} error={job.error_message}"
            )
        await asyncio.sleep(interval)


async def load_parts(resources: Resources, job_id: uuid.UUID) -> Sequence[JobPart]:
    async with resources.sessions() as session:
        result = await session.execute(
            select(JobPart)
            .where(JobPart.job_id == job_id)
            .order_by(JobPart.attempt, JobPart.position)
            .execution_options(populate_existing=True)
        )
        return result.scalars().all()


async def wait_for_parts(
    resources: Resources,
    job_id: uuid.UUID,
    condition: Callable[[Sequence[JobPart]], bool],
    within: float = 240.0,
) -> Sequence[JobPart]:
    """The job's fan-out parts once ``condition`` holds for them (polled, no timing).
    Fails at once when the job has ended without it: an ended job's parts are gone, so
    waiting longer could not help, and the job's end says what happened."""
    deadline = time.monotonic() + within
    while True:
        parts = await load_parts(resources, job_id)
        if condition(parts):
            return parts
        job = await load_job(resources, job_id)
        if job.status.is_final or time.monotonic() > deadline:
            parts = await load_parts(resources, job_id)  # read after the job: its last word
            if condition(parts):
                return parts
            states = [(p.position, p.status.value, p.tries) for p in parts]
            raise AssertionError(
                f"job {job_id} parts stuck: {states}; job status={job.status} "
                f"stage={job.stage!r} attempts={job.attempts} error={job.error_message}"
            )
        await asyncio.sleep(0.05)


def final(job: Job) -> bool:
    return job.status.is_final


def running_with_progress(at_least: float) -> Callable[[Job], bool]:
    return lambda job: job.status == JobStatus.running and job.progress >= at_least


async def reap_once(resources: Resources) -> list[tuple[uuid.UUID, str]]:
    return await reap(resources.sessions, resources.settings, resources.pubsub)


def keys_under(resources: Resources, job_id: uuid.UUID) -> list[str]:
    return sorted(resources.storage.list_keys(f"jobs/{job_id}"))


class RecordingQueue:
    """Remembers what would be sent; for tests about *whether* something is sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[uuid.UUID, str]] = []

    async def enqueue(self, job_id: uuid.UUID, queue: str) -> None:
        self.sent.append((job_id, queue))

    async def aclose(self) -> None:
        return None
