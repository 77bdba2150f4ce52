"""All SQL for jobs. ``JobRepository`` is what requests use (tenancy applied);
``JobStore`` is what runners use: every state change is one conditional UPDATE, so two
deliveries of the same job, a reaper and a late worker can never both win.

The fence is ``attempts``: claiming increments it and every later write of that attempt is
conditioned on it, so a worker that lost its job (stale heartbeat, reaped, re-claimed) can
no longer touch the row.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.kit.db import utcnow
from spatialviz.kit.tenancy import Principal, WorkspaceScopedRepository
from spatialviz.models.job import Job, JobStatus


def _at_least(moment: datetime) -> Any:
    """``heartbeat_at`` moved to ``moment`` unless it is already later, so a part's
    heartbeat never shortens its fan-out's lease."""
    value = literal(moment, type_=Job.heartbeat_at.type)
    return case((Job.heartbeat_at > value, Job.heartbeat_at), else_=value)


def _rowcount(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


class JobRepository(WorkspaceScopedRepository[Job]):
    model = Job

    async def page(
        self,
        principal: Principal,
        *,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None = None,
        dataset_id: uuid.UUID | None = None,
        scene_id: uuid.UUID | None = None,
    ) -> Sequence[Job]:
        statement = self.scoped(principal)
        if dataset_id is not None:
            statement = statement.where(Job.dataset_id == dataset_id)
        if scene_id is not None:
            statement = statement.where(Job.scene_id == scene_id)
        return await self.newest_first(statement, after=after, limit=limit)

    async def get_by_idempotency_key(self, key: str) -> Job | None:
        result = await self.session.execute(select(Job).where(Job.idempotency_key == key))
        return result.scalar_one_or_none()

    async def request_cancel(self, job_id: uuid.UUID) -> None:
        """Ask a running job to stop; a queued one is cancelled on the spot."""
        now = utcnow()
        await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.in_([JobStatus.queued, JobStatus.running]))
            .values(cancel_requested=True, updated_at=now)
        )
        cancelled = await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.queued)
            .values(status=JobStatus.cancelled, finished_at=now, stage="cancelled", updated_at=now)
        )
        if _rowcount(cancelled) == 1:
            await run_finish_hooks(self.session, [job_id])

    async def reset_for_retry(self, job_id: uuid.UUID) -> bool:
        now = utcnow()
        result = await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.in_([JobStatus.failed, JobStatus.cancelled]))
            .values(
                status=JobStatus.queued,
                attempts=0,
                progress=0.0,
                stage="",
                error_code=None,
                error_message=None,
                result=None,
                cancel_requested=False,
                worker=None,
                heartbeat_at=None,
                queued_at=now,
                started_at=None,
                finished_at=None,
                updated_at=now,
            )
        )
        return _rowcount(result) == 1

    async def reload(self, job: Job) -> Job:
        await self.session.refresh(job)
        return job


class JobStore:
    """Runner-side SQL, not scoped to a principal: workers act for the system."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, job_id: uuid.UUID) -> Job | None:
        result = await self.session.execute(
            select(Job).where(Job.id == job_id).execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def claim(self, job_id: uuid.UUID, worker: str, stale_before: datetime) -> Job | None:
        """Take the job if it is queued, or running under a dead worker (stale heartbeat)."""
        now = utcnow()
        result = await self.session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.cancel_requested.is_(False),
                Job.attempts < Job.max_attempts,
                or_(
                    Job.status == JobStatus.queued,
                    and_(Job.status == JobStatus.running, Job.heartbeat_at < stale_before),
                ),
            )
            .values(
                status=JobStatus.running,
                attempts=Job.attempts + 1,
                worker=worker,
                started_at=now,
                heartbeat_at=now,
                progress=0.0,
                stage="starting",
                error_code=None,
                error_message=None,
                updated_at=now,
            )
        )
        if _rowcount(result) != 1:
            return None
        return await self.get(job_id)

    async def touch(
        self,
        job_id: uuid.UUID,
        attempt: int,
        *,
        progress: float | None = None,
        stage: str | None = None,
    ) -> bool | None:
        """Heartbeat (and progress); returns whether cancel was requested, or None when this
        attempt no longer holds the job."""
        now = utcnow()
        values: dict[str, Any] = {"heartbeat_at": _at_least(now)}
        if progress is not None:
            values.update(progress=progress, updated_at=now)
        if stage is not None:
            values.update(stage=stage[:200], updated_at=now)
        result = await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempts == attempt, Job.status == JobStatus.running)
            .values(**values)
            .returning(Job.cancel_requested)
        )
        row = result.first()
        return None if row is None else bool(row[0])

    async def finish(
        self,
        job_id: uuid.UUID,
        attempt: int,
        status: JobStatus,
        *,
        result: dict[str, Any] | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> bool:
        now = utcnow()
        values: dict[str, Any] = {
            "status": status,
            "finished_at": now,
            "updated_at": now,
            "stage": status.value,
            "error_code": error_code,
            "error_message": error_message[:4000] if error_message else None,
        }
        if status is JobStatus.succeeded:
            values.update(progress=1.0, result=result)
        outcome = await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempts == attempt, Job.status == JobStatus.running)
            .values(**values)
        )
        won = _rowcount(outcome) == 1
        if won:
            await run_finish_hooks(self.session, [job_id])
        return won

    async def advance(
        self, job_id: uuid.UUID, attempt: int, delta: float, lease_until: datetime
    ) -> None:
        """Add a finished fan-out item's share to the progress (atomic in SQL) and renew the
        fan-out's lease."""
        await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempts == attempt, Job.status == JobStatus.running)
            .values(
                progress=case((Job.progress + delta > 0.99, 0.99), else_=Job.progress + delta),
                heartbeat_at=_at_least(lease_until),
            )
        )

    async def lease(self, job_id: uuid.UUID, attempt: int, until: datetime) -> None:
        """A fanned-out job counts as alive until ``until`` although no code of it runs: its
        parts may wait in the queue behind other work for longer than a heartbeat lasts."""
        await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempts == attempt, Job.status == JobStatus.running)
            .values(heartbeat_at=_at_least(until))
        )

    async def end_lease(self, job_id: uuid.UUID, attempt: int) -> None:
        """The fan-out's parts are known to be gone: from now on the usual heartbeat
        staleness applies."""
        await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempts == attempt, Job.status == JobStatus.running)
            .values(heartbeat_at=utcnow())
        )

    async def release(self, job_id: uuid.UUID, attempt: int, reason: str) -> bool:
        """Give the job back to the queue (a transient failure); another attempt follows."""
        now = utcnow()
        outcome = await self.session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.attempts == attempt,
                Job.status == JobStatus.running,
                Job.attempts < Job.max_attempts,
            )
            .values(status=JobStatus.queued, worker=None, queued_at=now, stage=reason[:200])
        )
        return _rowcount(outcome) == 1

    async def reap(
        self, *, stale_before: datetime, requeue_before: datetime
    ) -> tuple[list[tuple[uuid.UUID, str]], list[uuid.UUID]]:
        """Jobs whose worker died: cancel those asked to stop, requeue those with attempts
        left, fail the rest. Queued jobs nobody picked up for long are sent again (a lost
        message, or a crash between commit and enqueue). Returns (to send, finished)."""
        now = utcnow()
        stale = and_(Job.status == JobStatus.running, Job.heartbeat_at < stale_before)
        finished: list[uuid.UUID] = []
        cancelled = await self.session.execute(
            update(Job)
            .where(stale, Job.cancel_requested.is_(True))
            .values(status=JobStatus.cancelled, finished_at=now, stage="cancelled", updated_at=now)
            .returning(Job.id)
        )
        finished += [row[0] for row in cancelled]
        failed = await self.session.execute(
            update(Job)
            .where(stale, Job.attempts >= Job.max_attempts)
            .values(
                status=JobStatus.failed,
                finished_at=now,
                stage="failed",
                error_code="worker_lost",
                error_message="The worker running this job stopped responding too many times.",
                updated_at=now,
            )
            .returning(Job.id)
        )
        finished += [row[0] for row in failed]
        requeued = await self.session.execute(
            update(Job)
            .where(stale)
            .values(
                status=JobStatus.queued,
                worker=None,
                queued_at=now,
                stage="waiting for a worker",
                updated_at=now,
            )
            .returning(Job.id, Job.kind)
        )
        resend = [(row[0], row[1]) for row in requeued]
        forgotten = await self.session.execute(
            update(Job)
            .where(Job.status == JobStatus.queued, Job.queued_at < requeue_before)
            .values(queued_at=now)
            .returning(Job.id, Job.kind)
        )
        resend += [(row[0], row[1]) for row in forgotten]
        await run_finish_hooks(self.session, finished)
        return resend, finished

    async def recover_after_restart(self) -> list[tuple[uuid.UUID, str]]:
        """Embedded mode, on start: this process is the only runner, so whatever is
        `running` was interrupted by the restart. Requeue it (the claim counts the attempt)
        and return every queued job."""
        now = utcnow()
        running = Job.status == JobStatus.running
        cancelled = await self.session.execute(
            update(Job)
            .where(running, Job.cancel_requested.is_(True))
            .values(status=JobStatus.cancelled, finished_at=now, stage="cancelled", updated_at=now)
            .returning(Job.id)
        )
        ended = [row[0] for row in cancelled]
        failed = await self.session.execute(
            update(Job)
            .where(running, Job.attempts >= Job.max_attempts)
            .values(
                status=JobStatus.failed,
                finished_at=now,
                stage="failed",
                error_code="worker_lost",
                error_message="The server stopped while running this job too many times.",
                updated_at=now,
            )
            .returning(Job.id)
        )
        ended += [row[0] for row in failed]
        await run_finish_hooks(self.session, ended)
        await self.session.execute(
            update(Job)
            .where(running)
            .values(status=JobStatus.queued, worker=None, stage="resuming", updated_at=now)
        )
        result = await self.session.execute(
            select(Job.id, Job.kind).where(Job.status == JobStatus.queued).order_by(Job.queued_at)
        )
        return [(row[0], row[1]) for row in result]

    async def queue_depth(self) -> dict[str, int]:
        result = await self.session.execute(
            select(Job.kind, func.count()).where(Job.status == JobStatus.queued).group_by(Job.kind)
        )
        return {row[0]: int(row[1]) for row in result}


async def run_finish_hooks(session: AsyncSession, job_ids: Sequence[uuid.UUID]) -> None:
    """Let each finished job's domain react in this same transaction."""
    if not job_ids:
        return
    from spatialviz.job.registry import UnknownJobKind, get_kind

    result = await session.execute(
        select(Job).where(Job.id.in_(list(job_ids))).execution_options(populate_existing=True)
    )
    for job in result.scalars():
        try:
            hook = get_kind(job.kind).on_finish
        except UnknownJobKind:
            continue
        if hook is not None:
            await hook(session, job)
