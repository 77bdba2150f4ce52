"""The runner's database operations: each one short transaction on the worker runtime's
loop, announcing the job's new state on pub/sub only after it commits."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Literal

from spatialviz.job.liveness import redelivery_verdict
from spatialviz.job.registry import JobResult, get_kind
from spatialviz.job.repository import JobStore
from spatialviz.job.schemas import job_channel, job_message
from spatialviz.job.steps import Outcome, PartClaim, Step
from spatialviz.job.worker import WorkerRuntime
from spatialviz.kit.db import transaction, utcnow
from spatialviz.models.job import Job, JobStatus
from spatialviz.models.job_part import REDUCE_POSITION, PartStatus

Verdict = Literal["take", "keep", "later"]


async def _state_message(job_id: uuid.UUID, store: JobStore) -> bytes | None:
    """The job's state as a pub/sub message, read inside the transaction that changed it
    and sent only after that transaction commits (:func:`_announce`): a client that hears
    "succeeded" and reads the job's dataset or scene must find the finish hook's changes."""
    job = await store.get(job_id)
    return job_message(job) if job is not None else None


def _announce(rt: WorkerRuntime, job_id: uuid.UUID, message: bytes | None) -> None:
    if message is not None:
        rt.publish(job_channel(job_id), message)


async def claim(rt: WorkerRuntime, job_id: uuid.UUID) -> Job | None:
    stale_before = utcnow() - timedelta(seconds=rt.settings.jobs_stale_after_seconds)
    async with transaction(rt.resources.sessions) as session:
        job = await JobStore(session).claim(job_id, rt.worker_name, stale_before)
    if job is not None:
        rt.publish(job_channel(job_id), job_message(job))
    return job


async def take_over(rt: WorkerRuntime, job_id: uuid.UUID) -> tuple[Job | None, Verdict]:
    """A redelivered single-stage job another run holds: take it when that run is lost
    (:func:`redelivery_verdict`), fenced on the heartbeat judged. Returns the job taken
    ("take"; None if another run took it first) or the job as it is ("keep", "later")."""
    async with transaction(rt.resources.sessions) as session:
        store = JobStore(session)
        held = await store.get(job_id)
        if held is None or held.status != JobStatus.running:
            return None, "keep"
        verdict = redelivery_verdict(
            held.worker, held.heartbeat_at, utcnow(), rt.settings.jobs_heartbeat_seconds
        )
        if verdict != "take":
            return held, verdict
        job = await store.take_over(job_id, rt.worker_name, held.attempts, held.heartbeat_at)
    if job is not None:
        rt.publish(job_channel(job_id), job_message(job))
    return job, "take"


async def load(rt: WorkerRuntime, job_id: uuid.UUID) -> Job | None:
    async with transaction(rt.resources.sessions) as session:
        return await JobStore(session).get(job_id)


async def touch(
    rt: WorkerRuntime,
    job_id: uuid.UUID,
    attempt: int,
    progress: float | None,
    stage: str | None,
    part: PartClaim | None = None,
) -> bool | None:
    """Heartbeat (and progress): whether cancel was asked, None once the attempt (or its
    part) was taken from this run."""
    message = None
    async with transaction(rt.resources.sessions) as session:
        store = JobStore(session)
        if part is not None and not await store.touch_part(
            job_id, attempt, part.position, part.tries
        ):
            return None  # the part was taken from this run (presumed lost, sent again)
        flag = await store.touch(job_id, attempt, progress=progress, stage=stage)
        if flag is not None and (progress is not None or stage is not None):
            message = await _state_message(job_id, store)
    _announce(rt, job_id, message)
    return flag


async def plan_parts(rt: WorkerRuntime, job_id: uuid.UUID, attempt: int, items: list[Any]) -> bool:
    async with transaction(rt.resources.sessions) as session:
        return await JobStore(session).plan_parts(job_id, attempt, items)


async def claim_part(
    rt: WorkerRuntime, job_id: uuid.UUID, attempt: int, position: int, redelivered: bool
) -> tuple[int | None, PartStatus | None, Any]:
    """(fence, running, None) when this run took the part; otherwise (None, the part's
    status, its value): "done" with its value for a redelivery after the fact, "running"
    for a part another run holds, None for a redelivered one to look at again soon."""
    async with transaction(rt.resources.sessions) as session:
        store = JobStore(session)
        tries = await store.claim_part(job_id, attempt, position, rt.worker_name)
        if tries is not None:
            return tries, PartStatus.running, None
        part = await store.part(job_id, attempt, position)
        if part is None:
            return None, None, None
        if part.status != PartStatus.running or not redelivered:
            return None, part.status, part.value
        verdict = redelivery_verdict(
            part.worker, part.heartbeat_at, utcnow(), rt.settings.jobs_heartbeat_seconds
        )
        if verdict == "keep":
            return None, part.status, part.value
        if verdict == "later":
            return None, None, None
        tries = await store.claim_part(
            job_id, attempt, position, rt.worker_name, take_over=part.tries
        )
        return tries, PartStatus.running, None


async def complete_part(
    rt: WorkerRuntime, job_id: uuid.UUID, attempt: int, part: PartClaim, value: Any, share: float
) -> tuple[bool, bool]:
    async with transaction(rt.resources.sessions) as session:
        store = JobStore(session)
        recorded, last = await store.complete_part(
            job_id, attempt, part.position, part.tries, value, share
        )
        message = await _state_message(job_id, store) if recorded else None
    _announce(rt, job_id, message)
    return recorded, last


async def part_values(rt: WorkerRuntime, job_id: uuid.UUID, attempt: int) -> list[Any]:
    async with transaction(rt.resources.sessions) as session:
        return await JobStore(session).part_values(job_id, attempt)


async def resume(rt: WorkerRuntime, job_id: uuid.UUID) -> Step | None:
    """A fanned-out job sent again (by the reaper, after a part was lost or its message
    forgotten): what is left to send. None when the job is not fanned out."""
    async with transaction(rt.resources.sessions) as session:
        store = JobStore(session)
        job = await store.get(job_id)
        if job is None or job.status != JobStatus.running:
            return None
        parts = await store.parts(job_id, job.attempts)
    if not parts:
        return None
    return Step(
        job_id=str(job_id),
        outcome=Outcome.planned,
        kind=job.kind,
        queue=get_kind(job.kind).queue,
        attempt=job.attempts,
        items=[p.item for p in parts if p.position != REDUCE_POSITION],
        pending=[p.position for p in parts if p.status == PartStatus.pending],
    )


async def finish(
    rt: WorkerRuntime,
    job_id: uuid.UUID,
    attempt: int,
    status: JobStatus,
    result: JobResult = None,
    error_code: str | None = None,
    error_message: str | None = None,
) -> bool:
    message = None
    async with transaction(rt.resources.sessions) as session:
        store = JobStore(session)
        won = await store.finish(
            job_id,
            attempt,
            status,
            result=result,
            error_code=error_code,
            error_message=error_message,
        )
        if won:
            message = await _state_message(job_id, store)
    _announce(rt, job_id, message)
    return won


async def release(rt: WorkerRuntime, job_id: uuid.UUID, attempt: int, reason: str) -> bool:
    message = None
    async with transaction(rt.resources.sessions) as session:
        store = JobStore(session)
        won = await store.release(job_id, attempt, reason)
        if won:
            message = await _state_message(job_id, store)
    _announce(rt, job_id, message)
    return won
