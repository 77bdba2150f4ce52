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
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from spatialviz.config import Settings
from spatialviz.job.liveness import is_lost
from spatialviz.job.registry import JobResult, UnknownJobKind, get_kind
from spatialviz.job.states import Event, sources, target
from spatialviz.kit.db import utcnow
from spatialviz.kit.tenancy import Principal, WorkspaceScopedRepository
from spatialviz.models.job import Job, JobStatus
from spatialviz.models.job_part import REDUCE_POSITION, JobPart, PartStatus

# Attempts that ended in a failure of the job's own (not a lost worker) are what
# ``max_attempts`` limits.
_FAILED_ATTEMPTS = Job.attempts - Job.worker_losses
# The job is fanned out: its current attempt has parts, whose own heartbeats say whether
# it is alive (the job row's heartbeat says nothing while parts wait in the queue).
_FANNED_OUT = exists().where(JobPart.job_id == Job.id, JobPart.attempt == Job.attempts)
_DEFAULT_MAX_WORKER_LOSSES = 5
# How a worker ends its attempt, by the status it asks for.
_FINISH = {
    JobStatus.succeeded: Event.succeed,
    JobStatus.failed: Event.fail,
    JobStatus.cancelled: Event.cancel,
}


def _at_least(moment: datetime) -> Any:
    """``heartbeat_at`` moved to ``moment`` unless it is already later, so a part's
    heartbeat never shortens its fan-out's lease."""
    value = literal(moment, type_=Job.heartbeat_at.type)
    return case((Job.heartbeat_at > value, Job.heartbeat_at), else_=value)


def _worker_lost(now: datetime, what: str) -> dict[str, object]:
    return {
        "finished_at": now,
        "stage": "failed",
        "error_code": "worker_lost",
        "error_message": f"{what} (killed, out of memory, or its machine went away).",
    }


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
            .where(Job.id == job_id, Job.status.in_(sources(Event.cancel_queued)))
            .values(
                status=target(Event.cancel_queued),
                finished_at=now,
                stage="cancelled",
                updated_at=now,
            )
        )
        if _rowcount(cancelled) == 1:
            await run_finish_hooks(self.session, [job_id])

    async def reset_for_retry(self, job_id: uuid.UUID) -> bool:
        now = utcnow()
        result = await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.in_(sources(Event.retry)))
            .values(
                status=target(Event.retry),
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
        """Take the job if it is queued (``claim``), or running under a dead worker whose
        heartbeat is older than ``stale_before`` (``take_over``)."""
        taken_over = and_(
            Job.status.in_(sources(Event.take_over)),
            Job.heartbeat_at < stale_before,
            ~_FANNED_OUT,
        )
        return await self._take(
            job_id, worker, or_(Job.status.in_(sources(Event.claim)), taken_over)
        )

    async def take_over(
        self, job_id: uuid.UUID, worker: str, attempt: int, heartbeat_at: datetime | None
    ) -> Job | None:
        """Take the running single-stage job from its holder, judged lost at the heartbeat
        ``heartbeat_at``: fenced on that attempt and that heartbeat (a beat since means it
        lives). Counts a worker loss, not a failed attempt."""
        heartbeat = (
            Job.heartbeat_at.is_(None)
            if heartbeat_at is None
            else (Job.heartbeat_at <= heartbeat_at)
        )
        held = and_(
            Job.status.in_(sources(Event.take_over)),
            Job.attempts == attempt,
            heartbeat,
            ~_FANNED_OUT,
        )
        return await self._take(job_id, worker, held)

    async def _take(self, job_id: uuid.UUID, worker: str, which: Any) -> Job | None:
        now = utcnow()
        running = target(Event.claim)
        result = await self.session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.cancel_requested.is_(False),
                Job.max_attempts > _FAILED_ATTEMPTS,
                which,
            )
            .values(
                status=running,
                attempts=Job.attempts + 1,
                # Taking a running job from a lost worker: that attempt was a loss.
                worker_losses=case(
                    (Job.status == running, Job.worker_losses + 1),
                    else_=Job.worker_losses,
                ),
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
        # Earlier attempts' fan-out parts are void.
        await self.session.execute(delete(JobPart).where(JobPart.job_id == job_id))
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
        values: dict[str, object] = {"heartbeat_at": _at_least(now)}
        if progress is not None:
            # Within an attempt the bar only moves forward (a new attempt starts at 0): a
            # late or out-of-phase report must not send the user's bar back.
            forward = case((Job.progress > progress, Job.progress), else_=progress)
            values.update(progress=forward, updated_at=now)
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
        result: JobResult = None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> bool:
        now = utcnow()
        values: dict[str, object] = {
            "status": status,
            "finished_at": now,
            "updated_at": now,
            "stage": status.value,
            "error_code": error_code,
            "error_message": error_message[:4000] if error_message else None,
        }
        if status is JobStatus.succeeded:
            values.update(progress=1.0, result=None if result is None else dict(result))
        event = _FINISH[status]
        # The job's parts are locked before the job row, the order a part's heartbeat and
        # completion take (part, then job): the other order deadlocked with the reduce's
        # own heartbeat, on PostgreSQL, and failed a finished job.
        await self.session.execute(
            select(JobPart.id)
            .where(JobPart.job_id == job_id)
            .order_by(JobPart.position)
            .with_for_update()
        )
        outcome = await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempts == attempt, Job.status.in_(sources(event)))
            .values(**values)
        )
        won = _rowcount(outcome) == 1
        if won:
            await self.session.execute(delete(JobPart).where(JobPart.job_id == job_id))
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
                Job.status.in_(sources(Event.release)),
                Job.max_attempts > _FAILED_ATTEMPTS,
            )
            .values(status=target(Event.release), worker=None, queued_at=now, stage=reason[:200])
        )
        return _rowcount(outcome) == 1

    async def reap(
        self, settings: Settings, *, now: datetime | None = None
    ) -> tuple[list[tuple[uuid.UUID, str]], list[uuid.UUID]]:
        """Jobs and fan-out parts whose worker is lost (:func:`is_lost`): a lost job is
        requeued (a worker loss, not a failed attempt) or cancelled if asked to stop; a lost
        part is reset to pending and its job sent again, which dispatches only its pending
        parts. Past ``jobs_max_worker_losses`` the job fails with ``worker_lost``. Queued
        jobs and pending parts nobody took for long are sent again (a lost message).
        Returns (to send, finished)."""
        now = now or utcnow()
        finished: list[uuid.UUID] = []
        resend: dict[uuid.UUID, str] = {}
        overdue = now - timedelta(
            seconds=min(settings.jobs_lost_after_seconds, settings.jobs_stale_after_seconds)
        )
        lost_jobs = await self.session.execute(
            select(Job).where(
                Job.status == JobStatus.running, Job.heartbeat_at < overdue, ~_FANNED_OUT
            )
        )
        for job in lost_jobs.scalars().all():
            if not is_lost(job.worker, job.heartbeat_at, now, settings):
                continue
            outcome = await self._after_loss(job, job.heartbeat_at, settings, now)
            if outcome == "requeued":
                resend[job.id] = job.kind
            elif outcome == "finished":
                finished.append(job.id)
        lost_parts = await self.session.execute(
            select(JobPart, Job)
            .join(Job, Job.id == JobPart.job_id)
            .where(
                Job.status == JobStatus.running,
                Job.attempts == JobPart.attempt,
                JobPart.status == PartStatus.running,
                JobPart.heartbeat_at < overdue,
            )
        )
        for part, job in lost_parts.all():
            if job.id in finished or not is_lost(part.worker, part.heartbeat_at, now, settings):
                continue
            if job.cancel_requested or part.tries >= settings.jobs_max_worker_losses:
                if await self._end_fanout(job, part.tries, now):
                    finished.append(job.id)
                continue
            reset = await self.session.execute(
                update(JobPart)
                .where(
                    JobPart.id == part.id,
                    JobPart.tries == part.tries,
                    JobPart.status == PartStatus.running,
                )
                .values(status=PartStatus.pending, worker=None, sent_at=now, updated_at=now)
            )
            if _rowcount(reset) == 1:
                resend[job.id] = job.kind
        requeue_before = now - timedelta(seconds=settings.jobs_requeue_after_seconds)
        unsent_parts = await self.session.execute(
            update(JobPart)
            .where(
                JobPart.status == PartStatus.pending,
                JobPart.sent_at < requeue_before,
                exists().where(
                    Job.id == JobPart.job_id,
                    Job.status == JobStatus.running,
                    Job.attempts == JobPart.attempt,
                ),
            )
            .values(sent_at=now)
            .returning(JobPart.job_id)
        )
        part_jobs = {row[0] for row in unsent_parts}
        if part_jobs:
            kinds = await self.session.execute(
                select(Job.id, Job.kind).where(Job.id.in_(part_jobs))
            )
            resend.update({row[0]: row[1] for row in kinds})
        forgotten = await self.session.execute(
            update(Job)
            .where(Job.status == JobStatus.queued, Job.queued_at < requeue_before)
            .values(queued_at=now)
            .returning(Job.id, Job.kind)
        )
        resend.update({row[0]: row[1] for row in forgotten})
        await run_finish_hooks(self.session, finished)
        return list(resend.items()), finished

    async def _after_loss(
        self, job: Job, heartbeat_at: datetime | None, settings: Settings, now: datetime
    ) -> str | None:
        """Requeue, cancel or fail one job whose worker is lost; fenced on its attempt and
        on the heartbeat we judged (a beat since means the worker lives)."""
        losses = job.worker_losses + 1
        if job.cancel_requested:
            event, values = Event.cancel, {"finished_at": now, "stage": "cancelled"}
        elif losses > settings.jobs_max_worker_losses:
            event, values = (
                Event.fail_lost,
                _worker_lost(now, f"The worker running this job was lost {losses} times"),
            )
        else:
            event = Event.requeue_lost
            values = {
                "worker": None,
                "queued_at": now,
                "stage": "waiting for a worker",
                "worker_losses": losses,
            }
        result = await self.session.execute(
            update(Job)
            .where(
                Job.id == job.id,
                Job.attempts == job.attempts,
                Job.status.in_(sources(event)),
                Job.heartbeat_at <= heartbeat_at,
            )
            .values(**values, status=target(event), updated_at=now)
        )
        if _rowcount(result) != 1:
            return None
        return "requeued" if event is Event.requeue_lost else "finished"

    async def _end_fanout(self, job: Job, tries: int, now: datetime) -> bool:
        """A fan-out asked to stop whose part is lost ends cancelled; one whose part lost
        its worker too often ends failed."""
        if job.cancel_requested:
            event, values = Event.cancel, {"finished_at": now, "stage": "cancelled"}
        else:
            event = Event.fail_lost
            values = _worker_lost(now, f"A part of this job lost its worker {tries} times")
        result = await self.session.execute(
            update(Job)
            .where(
                Job.id == job.id,
                Job.attempts == job.attempts,
                Job.status.in_(sources(event)),
            )
            .values(**values, status=target(event), updated_at=now)
        )
        if _rowcount(result) != 1:
            return False
        await self.session.execute(delete(JobPart).where(JobPart.job_id == job.id))
        return True

    async def recover_after_restart(
        self, max_worker_losses: int = _DEFAULT_MAX_WORKER_LOSSES
    ) -> list[tuple[uuid.UUID, str]]:
        """Embedded mode, on start: this process is the only runner, so whatever is
        `running` was interrupted by the restart (a worker loss, not a failed attempt).
        A fanned-out job keeps its finished parts: its interrupted parts go back to
        pending. Other running jobs are requeued (the claim counts the attempt). Returns
        every job to send."""
        now = utcnow()
        running = Job.status == JobStatus.running
        cancelled = await self.session.execute(
            update(Job)
            .where(Job.status.in_(sources(Event.cancel)), Job.cancel_requested.is_(True))
            .values(status=target(Event.cancel), finished_at=now, stage="cancelled", updated_at=now)
            .returning(Job.id)
        )
        ended = [row[0] for row in cancelled]
        failed = await self.session.execute(
            update(Job)
            .where(Job.status.in_(sources(Event.fail_lost)), Job.worker_losses >= max_worker_losses)
            .values(
                **_worker_lost(now, "The server stopped while running this job too often"),
                status=target(Event.fail_lost),
                updated_at=now,
            )
            .returning(Job.id)
        )
        ended += [row[0] for row in failed]
        if ended:
            await self.session.execute(delete(JobPart).where(JobPart.job_id.in_(ended)))
        await run_finish_hooks(self.session, ended)
        await self.session.execute(
            update(JobPart)
            .where(JobPart.status == PartStatus.running)
            .values(status=PartStatus.pending, worker=None, sent_at=now, updated_at=now)
        )
        await self.session.execute(
            update(Job)
            .where(running, _FANNED_OUT)
            .values(worker_losses=Job.worker_losses + 1, updated_at=now)
        )
        await self.session.execute(
            update(Job)
            .where(Job.status.in_(sources(Event.requeue_lost)), ~_FANNED_OUT)
            .values(
                status=target(Event.requeue_lost),
                worker=None,
                stage="resuming",
                worker_losses=Job.worker_losses + 1,
                updated_at=now,
            )
        )
        result = await self.session.execute(
            select(Job.id, Job.kind)
            .where(or_(Job.status == JobStatus.queued, running))
            .order_by(Job.queued_at)
        )
        return [(row[0], row[1]) for row in result]

    # --- fan-out parts -------------------------------------------------------------------

    async def plan_parts(self, job_id: uuid.UUID, attempt: int, items: Sequence[Any]) -> bool:
        """Record an attempt's parts (all pending) and its reduce (waiting, or pending when
        there is nothing to map). False when the attempt no longer holds the job."""
        now = utcnow()
        held = await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempts == attempt, Job.status == JobStatus.running)
            .values(heartbeat_at=_at_least(now))
        )
        if _rowcount(held) != 1:
            return False
        await self.session.execute(delete(JobPart).where(JobPart.job_id == job_id))
        rows = [
            {"position": position, "item": item, "status": PartStatus.pending}
            for position, item in enumerate(items)
        ]
        rows.append(
            {
                "position": REDUCE_POSITION,
                "item": None,
                "status": PartStatus.waiting if items else PartStatus.pending,
            }
        )
        await self.session.execute(
            insert(JobPart),
            [
                {
                    **row,
                    "id": uuid.uuid4(),
                    "job_id": job_id,
                    "attempt": attempt,
                    "tries": 0,
                    "sent_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for row in rows
            ],
        )
        return True

    @staticmethod
    def _this_part(
        job_id: uuid.UUID, attempt: int, position: int, tries: int | None = None
    ) -> list[ColumnElement[bool]]:
        """The part at ``position`` of the job's run ``attempt``, and of fence ``tries``
        when given (a part taken over since has a higher one)."""
        where = [JobPart.job_id == job_id, JobPart.attempt == attempt]
        where.append(JobPart.position == position)
        if tries is not None:
            where.append(JobPart.tries == tries)
        return where

    async def part(self, job_id: uuid.UUID, attempt: int, position: int) -> JobPart | None:
        result = await self.session.execute(
            select(JobPart)
            .where(*self._this_part(job_id, attempt, position))
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def parts(self, job_id: uuid.UUID, attempt: int) -> Sequence[JobPart]:
        result = await self.session.execute(
            select(JobPart)
            .where(JobPart.job_id == job_id, JobPart.attempt == attempt)
            .order_by(JobPart.position)
            .execution_options(populate_existing=True)
        )
        return result.scalars().all()

    async def claim_part(
        self,
        job_id: uuid.UUID,
        attempt: int,
        position: int,
        worker: str,
        *,
        take_over: int | None = None,
    ) -> int | None:
        """Take a pending part of the job's current attempt (or, with ``take_over``, the
        running part of that fence whose worker is lost); returns its new fence."""
        now = utcnow()
        taken = (
            JobPart.status == PartStatus.pending
            if take_over is None
            else and_(JobPart.status == PartStatus.running, JobPart.tries == take_over)
        )
        result = await self.session.execute(
            update(JobPart)
            .where(
                *self._this_part(job_id, attempt, position),
                taken,
                exists().where(
                    Job.id == job_id, Job.attempts == attempt, Job.status == JobStatus.running
                ),
            )
            .values(
                status=PartStatus.running,
                tries=JobPart.tries + 1,
                worker=worker,
                heartbeat_at=now,
                updated_at=now,
            )
            .returning(JobPart.tries)
        )
        row = result.first()
        return None if row is None else int(row[0])

    async def touch_part(self, job_id: uuid.UUID, attempt: int, position: int, tries: int) -> bool:
        """A part's heartbeat; False once the part was taken from this run."""
        result = await self.session.execute(
            update(JobPart)
            .where(
                *self._this_part(job_id, attempt, position, tries),
                JobPart.status == PartStatus.running,
            )
            .values(heartbeat_at=utcnow())
        )
        return _rowcount(result) == 1

    async def complete_part(
        self, job_id: uuid.UUID, attempt: int, position: int, tries: int, value: Any, share: float
    ) -> tuple[bool, bool]:
        """Record a finished map part; returns (recorded, this was the last one, so the
        reduce is now pending and this caller must send it).

        The first statement locks the attempt's reduce row, so concurrent completions are
        serialised and exactly one of them sees no part left (no lost last part)."""
        now = utcnow()
        reduce_row = self._this_part(job_id, attempt, REDUCE_POSITION)
        await self.session.execute(update(JobPart).where(*reduce_row).values(updated_at=now))
        done = await self.session.execute(
            update(JobPart)
            .where(
                *self._this_part(job_id, attempt, position, tries),
                JobPart.status == PartStatus.running,
            )
            .values(status=PartStatus.done, value=value, heartbeat_at=now, updated_at=now)
        )
        if _rowcount(done) != 1:
            return False, False
        await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempts == attempt, Job.status == JobStatus.running)
            .values(
                progress=case((Job.progress + share > 0.99, 0.99), else_=Job.progress + share),
                heartbeat_at=_at_least(now),
            )
        )
        left = await self.session.scalar(
            select(func.count())
            .select_from(JobPart)
            .where(
                JobPart.job_id == job_id,
                JobPart.attempt == attempt,
                JobPart.position != REDUCE_POSITION,
                JobPart.status != PartStatus.done,
            )
        )
        if left:
            return True, False
        ready = await self.session.execute(
            update(JobPart)
            .where(*reduce_row, JobPart.status == PartStatus.waiting)
            .values(status=PartStatus.pending, sent_at=now)
        )
        return True, _rowcount(ready) == 1

    async def part_values(self, job_id: uuid.UUID, attempt: int) -> list[Any]:
        result = await self.session.execute(
            select(JobPart.value)
            .where(
                JobPart.job_id == job_id,
                JobPart.attempt == attempt,
                JobPart.position != REDUCE_POSITION,
            )
            .order_by(JobPart.position)
        )
        return list(result.scalars().all())

    async def queue_depth(self) -> dict[str, int]:
        result = await self.session.execute(
            select(Job.kind, func.count()).where(Job.status == JobStatus.queued).group_by(Job.kind)
        )
        return {row[0]: int(row[1]) for row in result}


async def run_finish_hooks(session: AsyncSession, job_ids: Sequence[uuid.UUID]) -> None:
    """Let each finished job's domain react in this same transaction."""
    if not job_ids:
        return
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
