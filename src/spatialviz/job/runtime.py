"""Running a job inside a worker process (a Celery worker or the embedded process pool).

The entry points are plain synchronous functions over the process's
:class:`~spatialviz.job.worker.WorkerRuntime` (passed explicitly), IDs and small picklable
values, so any adapter can call them: :func:`run_job` (claim, then run a single-stage kind
or ``prepare`` a fan-out one), :func:`run_item` (one ``map`` item) and :func:`run_reduce`.
Each returns a :class:`Step` the adapter acts on (dispatch items, re-enqueue, metrics).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import structlog

from spatialviz.config import Settings
from spatialviz.job import operations as op
from spatialviz.job.context import JobContext, staging_root
from spatialviz.job.errors import JobCancelled, JobError, JobLost
from spatialviz.job.leftovers import HeldScratch, scratch_root
from spatialviz.job.registry import JobKind, JobResult, UnknownJobKind, get_kind, queue_for
from spatialviz.job.steps import Outcome, PartClaim, Step
from spatialviz.job.worker import WorkerRuntime
from spatialviz.kit.db import utcnow
from spatialviz.kit.storage import BlobStorage
from spatialviz.models.job import Job, JobStatus
from spatialviz.models.job_part import REDUCE_POSITION, PartStatus

__all__ = ["Step", "WorkerRuntime", "fail_fanout", "run_item", "run_job", "run_reduce"]

log = structlog.get_logger(__name__)


class Attempt:
    """One claimed attempt at a job in this process: heartbeat, flags, outcome writes.
    The heartbeat is a coroutine on the runtime's loop, beside the job code."""

    def __init__(
        self, rt: WorkerRuntime, job: Job, kind: JobKind, part: PartClaim | None = None
    ) -> None:
        self.runtime, self.job, self.kind, self.part = rt, job, kind, part
        # where the leftovers sweep finds it if this process is killed (job/leftovers.py)
        self._scratch = HeldScratch(scratch_root(rt.settings), f"job-{job.id}-")
        self.scratch = self._scratch.path
        self.cancelled = False
        self.lost = False
        self._stop = asyncio.Event()

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def storage(self) -> BlobStorage:
        return self.runtime.storage

    def __enter__(self) -> Attempt:
        self._heart = self.runtime.spawn(self._beat())
        return self

    def __exit__(self, *exc: object) -> None:
        self.runtime.loop.call_soon_threadsafe(self._stop.set)
        try:
            self._heart.result(timeout=30)
        except Exception as error:  # a beat stuck on the database: it dies with us
            log.warning("job_heartbeat_stop_failed", job_id=str(self.job.id), error=repr(error))
            self._heart.cancel()
        self._scratch.release()

    async def _beat(self) -> None:
        interval = self.settings.jobs_heartbeat_seconds
        while True:
            try:
                await asyncio.wait_for(self._stop.wait(), interval)
                return
            except TimeoutError:
                pass
            try:
                self._flag(await self._touch())
            except Exception as exc:
                # The database is briefly away: keep working, the next beat retries.
                log.warning("job_heartbeat_failed", job_id=str(self.job.id), error=repr(exc))

    def _touch(self, progress: float | None = None, stage: str | None = None) -> Any:
        return op.touch(self.runtime, self.job.id, self.job.attempts, progress, stage, self.part)

    def _flag(self, flag: bool | None) -> None:
        if flag is None:
            self.lost = True
        elif flag:
            self.cancelled = True

    def report(self, fraction: float | None, stage: str | None) -> None:
        try:
            self._flag(self.runtime.call(self._touch(fraction, stage)))
        except Exception as exc:
            log.warning("job_progress_failed", job_id=str(self.job.id), error=repr(exc))

    def raise_if_stopped(self) -> None:
        if self.lost:
            raise JobLost(str(self.job.id))
        if self.cancelled:
            raise JobCancelled(str(self.job.id))

    def step(self, outcome: Outcome, **kwargs: Any) -> Step:
        started = self.job.started_at
        duration = (utcnow() - started).total_seconds() if started is not None else 0.0
        return Step(
            job_id=str(self.job.id),
            outcome=outcome,
            kind=self.job.kind,
            queue=self.kind.queue,
            attempt=self.job.attempts,
            duration_seconds=duration,
            **kwargs,
        )

    def _finished(
        self,
        status: JobStatus,
        result: JobResult = None,
        code: str | None = None,
        message: str | None = None,
    ) -> Step:
        """Write the final status, fenced: a run that no longer holds the job has nothing
        to report."""
        rt = self.runtime
        won = rt.call(op.finish(rt, self.job.id, self.job.attempts, status, result, code, message))
        if not won:
            return self.step(Outcome.nothing)
        return self.step(Outcome.finished, status=status, error_code=code)

    def succeed(self, ctx: JobContext, result: JobResult) -> Step:
        self.raise_if_stopped()
        publish_outputs(self.storage, ctx.staging_prefix)
        # Clean up before the row says "succeeded": whoever sees the final state sees only
        # the final outputs.
        _delete_staging(self.storage, self.job.id)
        return self._finished(JobStatus.succeeded, result)

    def fail(self, exc: BaseException) -> Step:
        """Turn an exception from job code into the job's outcome."""
        if isinstance(exc, JobLost):
            return self.step(Outcome.nothing)
        if isinstance(exc, JobCancelled):
            _delete_staging(self.storage, self.job.id)
            return self._finished(JobStatus.cancelled)
        code, message, retryable = _classify(exc, self.runtime.time_limit_errors)
        rt = self.runtime
        if retryable and rt.call(op.release(rt, self.job.id, self.job.attempts, message)):
            return self.step(Outcome.retry, error_code=code)
        _delete_staging(self.storage, self.job.id)
        return self._finished(JobStatus.failed, None, code, message)


def _classify(
    exc: BaseException, time_limit_errors: tuple[type[BaseException], ...]
) -> tuple[str, str, bool]:
    if isinstance(exc, JobError):
        return exc.code, exc.message, exc.retryable
    if isinstance(exc, time_limit_errors):
        return "timeout", "The job ran longer than its time limit.", False
    log.error("job_crashed", exc_info=exc)
    return "internal_error", f"{type(exc).__name__}: {exc}"[:1000], False


def publish_outputs(storage: BlobStorage, staging_prefix: str) -> int:
    """Move every staged blob to its final key (each move is an atomic blob write)."""
    count = 0
    strip = len(staging_prefix) + 1
    for staged in list(storage.list_keys(staging_prefix)):
        final = staged[strip:]
        local = storage.local_path(staged)
        if local is not None:
            storage.put_file(final, local)
        else:
            writer = storage.writer(final)
            for chunk in storage.iter_chunks(staged):
                writer.write(chunk)
            writer.commit()
        storage.delete(staged)
        count += 1
    return count


def _delete_staging(storage: BlobStorage, job_id: uuid.UUID) -> None:
    storage.delete_prefix(staging_root(job_id))


def _guarded(attempt: Attempt, body: Callable[[], Step]) -> Step:
    with attempt:
        try:
            return body()
        except Exception as exc:
            return attempt.fail(exc)


def _claimed(rt: WorkerRuntime, job_id: str, redelivered: bool) -> Job | Step:
    """The job this run now holds, or the Step that says why it holds none."""
    job = rt.call(op.claim(rt, uuid.UUID(job_id)))
    if job is not None:
        return job
    resumed = rt.call(op.resume(rt, uuid.UUID(job_id)))
    if resumed is not None:
        return resumed
    if redelivered:
        job, verdict = rt.call(op.take_over(rt, uuid.UUID(job_id)))
        if verdict == "take" and job is not None:
            log.warning("job_taken_over", job_id=job_id, worker_losses=job.worker_losses)
            return job
        if verdict == "later" and job is not None:
            return Step(job_id, Outcome.later, kind=job.kind, queue=queue_for(job.kind))
    return Step(job_id, Outcome.nothing)


def run_job(rt: WorkerRuntime, job_id: str, *, redelivered: bool = False) -> Step:
    """Claim the job and run it (or its ``prepare``). A duplicate delivery, a job already
    finished or one held by a live worker is a no-op (``Outcome.nothing``). ``redelivered``: the
    broker says the consumer of an earlier delivery died, so a single-stage job's holder
    may be taken over (see :func:`~spatialviz.job.liveness.redelivery_verdict`)."""
    claimed = _claimed(rt, job_id, redelivered)
    if isinstance(claimed, Step):
        return claimed
    job = claimed
    try:
        kind = get_kind(job.kind)
    except UnknownJobKind:
        message = f"No worker knows the job kind {job.kind!r}."
        rt.call(
            op.finish(rt, job.id, job.attempts, JobStatus.failed, None, "unknown_kind", message)
        )
        return Step(
            job_id,
            Outcome.finished,
            kind=job.kind,
            status=JobStatus.failed,
            error_code="unknown_kind",
        )
    log.info("job_started", job_id=job_id, kind=job.kind, attempt=job.attempts)
    _delete_staging(rt.storage, job.id)
    attempt = Attempt(rt, job, kind)

    def body() -> Step:
        if kind.prepare is not None:
            prepared_at = kind.phases[0]
            items = list(kind.prepare(JobContext(attempt, span=(0.0, prepared_at))))
            attempt.raise_if_stopped()
            # The ledger first: once a part is sent, its fate is recorded in the database.
            if not rt.call(op.plan_parts(rt, job.id, job.attempts, items)):
                raise JobLost(str(job.id))
            attempt.report(prepared_at, f"processing {len(items)} parts")
            return attempt.step(Outcome.planned, items=items)
        assert kind.run is not None
        ctx = JobContext(attempt)
        result = kind.run(ctx)
        return attempt.succeed(ctx, result)

    return _guarded(attempt, body)


def _held(rt: WorkerRuntime, job_id: str, attempt_no: int) -> tuple[Job, JobKind] | None:
    job = rt.call(op.load(rt, uuid.UUID(job_id)))
    if job is None or job.status != JobStatus.running or job.attempts != attempt_no:
        return None
    return job, get_kind(job.kind)


def run_item(
    rt: WorkerRuntime,
    job_id: str,
    attempt_no: int,
    index: int,
    total: int,
    item: Any,
    *,
    redelivered: bool = False,
) -> Step:
    """Run one ``map`` item of a fan-out job's current attempt, if it is still to do.
    A part already done answers with its recorded value (nothing runs twice); one held by
    another live run is ``Outcome.nothing``. ``redelivered``: the broker says an earlier delivery
    of this message was lost with its consumer, so its holder may be taken over."""
    held = _held(rt, job_id, attempt_no)
    if held is None:
        return Step(job_id, Outcome.nothing, attempt=attempt_no)
    job, kind = held
    assert kind.map is not None
    tries, status, done_value = rt.call(op.claim_part(rt, job.id, attempt_no, index, redelivered))
    if tries is None:
        if status is None and redelivered:
            return Step(job_id, Outcome.later, queue=kind.queue, attempt=attempt_no)
        if status == PartStatus.done:
            return Step(job_id, Outcome.mapped, attempt=attempt_no, value=done_value)
        return Step(job_id, Outcome.nothing, attempt=attempt_no)
    part = PartClaim(index, tries)
    attempt = Attempt(rt, job, kind, part)
    map_item = kind.map

    def body() -> Step:
        ctx = JobContext(attempt, item_index=index, span=None)
        value = map_item(ctx, item)
        attempt.raise_if_stopped()
        prepared_at, mapped_at = kind.phases
        share = (mapped_at - prepared_at) / max(total, 1)
        recorded, last = rt.call(op.complete_part(rt, job.id, attempt_no, part, value, share))
        if not recorded:
            raise JobLost(job_id)
        return attempt.step(Outcome.mapped, value=value, last=last, points=ctx.points)

    return _guarded(attempt, body)


def run_reduce(rt: WorkerRuntime, job_id: str, attempt_no: int) -> Step:
    """Join a fan-out job's part results (read from the ledger, whoever sent them) and
    finish it; only one run takes the reduce."""
    held = _held(rt, job_id, attempt_no)
    if held is None:
        return Step(job_id, Outcome.nothing, attempt=attempt_no)
    job, kind = held
    assert kind.reduce is not None
    tries, _, _ = rt.call(op.claim_part(rt, job.id, attempt_no, REDUCE_POSITION, False))
    if tries is None:
        return Step(job_id, Outcome.nothing, attempt=attempt_no)
    attempt = Attempt(rt, job, kind, PartClaim(REDUCE_POSITION, tries))
    reduce = kind.reduce

    def body() -> Step:
        mapped_at = kind.phases[1]
        ctx = JobContext(attempt, span=(mapped_at, 1.0))
        attempt.report(mapped_at, "finishing")
        recorded = rt.call(op.part_values(rt, job.id, attempt_no))
        return attempt.succeed(ctx, reduce(ctx, recorded))

    return _guarded(attempt, body)


def fail_fanout(rt: WorkerRuntime, job_id: str, attempt_no: int, code: str, message: str) -> None:
    """An item could not run at all (its task errored outside job code)."""
    rt.call(op.finish(rt, uuid.UUID(job_id), attempt_no, JobStatus.failed, None, code, message))
    _delete_staging(rt.storage, uuid.UUID(job_id))
