"""Running a job inside a worker process (a Celery worker or the embedded process pool).

The three entry points are plain synchronous functions over IDs and small picklable values,
so any adapter can call them: :func:`run_job` (claim, then run a single-stage kind or
``prepare`` a fan-out one), :func:`run_item` (one ``map`` item) and :func:`run_reduce`.
Each returns a :class:`Step` the adapter acts on (dispatch items, re-enqueue, metrics).

Database work happens on an event loop owned by this process (one thread, one engine);
sync job code calls into it. A heartbeat thread keeps the claim alive and notices cancel.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

import structlog

from spatialviz.config import Settings
from spatialviz.job.context import JobCancelled, JobContext, JobError, JobLost, staging_root
from spatialviz.job.leftovers import HeldScratch, scratch_root
from spatialviz.job.liveness import Liveness, liveness, process_identity
from spatialviz.job.registry import JobKind, UnknownJobKind, get_kind
from spatialviz.job.repository import JobStore
from spatialviz.job.schemas import job_channel, job_message
from spatialviz.kit.db import transaction, utcnow
from spatialviz.kit.logging import configure_logging
from spatialviz.kit.resources import Resources, open_resources
from spatialviz.kit.storage import BlobStorage
from spatialviz.models.job import Job, JobStatus
from spatialviz.models.job_part import REDUCE_POSITION, PartStatus

log = structlog.get_logger(__name__)
T = TypeVar("T")

Outcome = Literal[
    "succeeded",
    "failed",
    "cancelled",
    "planned",
    "mapped",
    "retry",
    "skipped",
    "lost",
    "later",  # a redelivered part whose first run may yet be alive: look again soon
]
# Share of the progress bar for a fan-out job's phases: prepare, map items, reduce.
PREPARED_AT, MAPPED_AT = 0.05, 0.95


@dataclass
class Step:
    job_id: str
    outcome: Outcome
    kind: str = ""
    queue: str = "heavy"
    attempt: int = 0
    duration_seconds: float = 0.0
    error_code: str | None = None
    items: list[Any] = field(default_factory=list)
    value: Any = None
    # "planned": the positions to send (None: all of ``items``; REDUCE_POSITION: the
    # reduce). "mapped": whether this part was the last, so the reduce is to be sent.
    pending: list[int] | None = None
    last: bool = False

    @property
    def is_final(self) -> bool:
        return self.outcome in ("succeeded", "failed", "cancelled")


class WorkerRuntime:
    """Per process: an event loop thread, the database engine, storage and publisher."""

    def __init__(
        self, settings: Settings, forward: Callable[[str, bytes], None] | None = None
    ) -> None:
        self.pid = os.getpid()
        self.settings = settings
        # host:pid:start-time, so a reaper on this host can tell whether we still run.
        self.worker_name = process_identity()
        self._forward = forward
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="job-runtime", daemon=True
        )
        self._thread.start()
        self.resources: Resources = open_resources(settings)

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def publish(self, channel: str, message: bytes) -> None:
        """Best effort and never blocking: progress must not stall or fail on Redis."""
        if self._forward is not None:
            self._forward(channel, message)
            return
        future = asyncio.run_coroutine_threadsafe(
            self.resources.pubsub.publish(channel, message), self.loop
        )
        future.add_done_callback(_log_publish_error)

    def close(self) -> None:
        self.call(self.resources.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


def _log_publish_error(future: Any) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("job_publish_failed", error=repr(future.exception()))


_settings: Settings | None = None
_forward: Callable[[str, bytes], None] | None = None
_runtime: WorkerRuntime | None = None
# Runtimes inherited through fork belong to the parent: keep them referenced so their
# connections are never closed (garbage-collected) from the child.
_inherited: list[WorkerRuntime] = []
_runtime_lock = threading.Lock()


def configure_process(
    settings: Settings, forward: Callable[[str, bytes], None] | None = None
) -> None:
    """Called in a worker process before any job (pool initializer, worker command); a
    new configuration replaces this process's runtime."""
    global _settings, _forward
    # Job events are log lines like the API's: the same format, fields and redaction.
    configure_logging(settings.effective_log_format, settings.log_level)
    if _settings is not None and _settings != settings:
        shutdown_runtime()
    _settings, _forward = settings, forward


def runtime() -> WorkerRuntime:
    global _runtime
    with _runtime_lock:
        if _runtime is not None and _runtime.pid != os.getpid():
            _inherited.append(_runtime)
            _runtime = None
        if _runtime is None:
            _runtime = WorkerRuntime(_settings or Settings(), _forward)
        return _runtime


def shutdown_runtime() -> None:
    global _runtime
    with _runtime_lock:
        if _runtime is not None and _runtime.pid == os.getpid():
            _runtime.close()
        _runtime = None


@dataclass(frozen=True)
class PartClaim:
    """The fan-out part this attempt runs: its position and fence."""

    position: int
    tries: int


class Attempt:
    """One claimed attempt at a job in this process: heartbeat, flags, outcome writes."""

    def __init__(
        self, rt: WorkerRuntime, job: Job, kind: JobKind, part: PartClaim | None = None
    ) -> None:
        self.runtime, self.job, self.kind, self.part = rt, job, kind, part
        # where the leftovers sweep finds it if this process is killed (job/leftovers.py)
        self._scratch = HeldScratch(scratch_root(rt.settings), f"job-{job.id}-")
        self.scratch = self._scratch.path
        self.cancelled = False
        self.lost = False
        self._stop = threading.Event()
        self._heart = threading.Thread(target=self._beat, name="job-heartbeat", daemon=True)

    def __enter__(self) -> Attempt:
        self._heart.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._heart.join(timeout=10)
        self._scratch.release()

    def _beat(self) -> None:
        while not self._stop.wait(self.runtime.settings.jobs_heartbeat_seconds):
            try:
                self._touch()
            except Exception as exc:
                # The database is briefly away: keep working, the next beat retries.
                log.warning("job_heartbeat_failed", job_id=str(self.job.id), error=repr(exc))

    def _touch(self, progress: float | None = None, stage: str | None = None) -> None:
        flag = self.runtime.call(
            _touch(self.runtime, self.job.id, self.job.attempts, progress, stage, self.part)
        )
        if flag is None:
            self.lost = True
        elif flag:
            self.cancelled = True

    def report(self, fraction: float, stage: str | None) -> None:
        try:
            self._touch(fraction, stage)
        except Exception as exc:
            log.warning("job_progress_failed", job_id=str(self.job.id), error=repr(exc))

    def raise_if_stopped(self) -> None:
        if self.lost:
            raise JobLost(str(self.job.id))
        if self.cancelled:
            raise JobCancelled(str(self.job.id))

    def step(self, outcome: Outcome, **kwargs: Any) -> Step:
        started = self.job.started_at
        if started is not None and started.tzinfo is None:  # SQLite keeps no offset
            started = started.replace(tzinfo=UTC)
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

    def succeed(self, ctx: JobContext, result: dict[str, Any] | None) -> Step:
        self.raise_if_stopped()
        storage = self.runtime.resources.storage
        publish_outputs(storage, ctx.staging_prefix)
        # Clean up before the row says "succeeded": whoever sees the final state sees only
        # the final outputs.
        _delete_staging(storage, self.job.id)
        won = self.runtime.call(
            _finish(self.runtime, self.job.id, self.job.attempts, JobStatus.succeeded, result)
        )
        return self.step("succeeded" if won else "lost")

    def fail(self, exc: BaseException) -> Step:
        """Turn an exception from job code into the job's outcome."""
        storage = self.runtime.resources.storage
        job_id, attempt = self.job.id, self.job.attempts
        if isinstance(exc, JobLost):
            return self.step("lost")
        if isinstance(exc, JobCancelled):
            _delete_staging(storage, job_id)
            won = self.runtime.call(_finish(self.runtime, job_id, attempt, JobStatus.cancelled))
            return self.step("cancelled" if won else "lost")
        code, message, retryable = _classify(exc)
        if retryable and self.runtime.call(_release(self.runtime, job_id, attempt, message)):
            return self.step("retry", error_code=code)
        _delete_staging(storage, job_id)
        won = self.runtime.call(
            _finish(self.runtime, job_id, attempt, JobStatus.failed, None, code, message)
        )
        return self.step("failed" if won else "lost", error_code=code)


def _classify(exc: BaseException) -> tuple[str, str, bool]:
    if isinstance(exc, JobError):
        return exc.code, exc.message, exc.retryable
    if type(exc).__name__ == "SoftTimeLimitExceeded":
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


# --- database operations, run on the runtime's loop; each is one short transaction -------


async def _state_message(job_id: uuid.UUID, store: JobStore) -> bytes | None:
    """The job's state as a pub/sub message, read inside the transaction that changed it
    and sent only after that transaction commits (:func:`_announce`): a client that hears
    "succeeded" and reads the job's dataset or scene must find the finish hook's changes."""
    job = await store.get(job_id)
    return job_message(job) if job is not None else None


def _announce(rt: WorkerRuntime, job_id: uuid.UUID, message: bytes | None) -> None:
    if message is not None:
        rt.publish(job_channel(job_id), message)


async def _claim(rt: WorkerRuntime, job_id: uuid.UUID) -> Job | None:
    stale_before = utcnow() - timedelta(seconds=rt.settings.jobs_stale_after_seconds)
    async with transaction(rt.resources.sessions) as session:
        job = await JobStore(session).claim(job_id, rt.worker_name, stale_before)
    if job is not None:
        rt.publish(job_channel(job_id), job_message(job))
    return job


async def _load(rt: WorkerRuntime, job_id: uuid.UUID) -> Job | None:
    async with transaction(rt.resources.sessions) as session:
        return await JobStore(session).get(job_id)


async def _touch(
    rt: WorkerRuntime,
    job_id: uuid.UUID,
    attempt: int,
    progress: float | None,
    stage: str | None,
    part: PartClaim | None = None,
) -> bool | None:
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


async def _plan_parts(rt: WorkerRuntime, job_id: uuid.UUID, attempt: int, items: list[Any]) -> bool:
    async with transaction(rt.resources.sessions) as session:
        return await JobStore(session).plan_parts(job_id, attempt, items)


async def _claim_part(
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
        verdict = _redelivery_verdict(rt, part.worker, part.heartbeat_at)
        if verdict == "keep":
            return None, part.status, part.value
        if verdict == "later":
            return None, None, None
        tries = await store.claim_part(
            job_id, attempt, position, rt.worker_name, take_over=part.tries
        )
        return tries, PartStatus.running, None


def _redelivery_verdict(
    rt: WorkerRuntime, worker: str | None, heartbeat_at: datetime | None
) -> Literal["take", "keep", "later"]:
    """The broker handed back a part another run holds: its consumer's connection died
    (RabbitMQ) or its pool process did. Take the part once the holder is known gone or
    has missed three heartbeats; never from a holder this host sees alive."""
    state = liveness(worker)
    if state is Liveness.alive:
        return "keep"
    if state is Liveness.gone:
        return "take"
    missed = timedelta(seconds=3 * rt.settings.jobs_heartbeat_seconds)
    if heartbeat_at is not None and utcnow() - heartbeat_at > missed:
        return "take"
    return "later"


async def _complete_part(
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


async def _part_values(rt: WorkerRuntime, job_id: uuid.UUID, attempt: int) -> list[Any]:
    async with transaction(rt.resources.sessions) as session:
        return await JobStore(session).part_values(job_id, attempt)


async def _resume(rt: WorkerRuntime, job_id: uuid.UUID) -> Step | None:
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
    kind = get_kind(job.kind)
    return Step(
        job_id=str(job_id),
        outcome="planned",
        kind=job.kind,
        queue=kind.queue,
        attempt=job.attempts,
        items=[p.item for p in parts if p.position != REDUCE_POSITION],
        pending=[p.position for p in parts if p.status == PartStatus.pending],
    )


async def _finish(
    rt: WorkerRuntime,
    job_id: uuid.UUID,
    attempt: int,
    status: JobStatus,
    result: dict[str, Any] | None = None,
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


async def _release(rt: WorkerRuntime, job_id: uuid.UUID, attempt: int, reason: str) -> bool:
    message = None
    async with transaction(rt.resources.sessions) as session:
        store = JobStore(session)
        won = await store.release(job_id, attempt, reason)
        if won:
            message = await _state_message(job_id, store)
    _announce(rt, job_id, message)
    return won


# --- entry points ---------------------------------------------------------------------


def _guarded(attempt: Attempt, body: Callable[[], Step]) -> Step:
    with attempt:
        try:
            return body()
        except Exception as exc:
            return attempt.fail(exc)


def run_job(job_id: str) -> Step:
    """Claim the job and run it (or its ``prepare``). A duplicate delivery, a job already
    finished or one held by a live worker is a no-op ("skipped")."""
    rt = runtime()
    job = rt.call(_claim(rt, uuid.UUID(job_id)))
    if job is None:
        resumed = rt.call(_resume(rt, uuid.UUID(job_id)))
        return resumed or Step(job_id=job_id, outcome="skipped")
    try:
        kind = get_kind(job.kind)
    except UnknownJobKind:
        rt.call(
            _finish(
                rt,
                job.id,
                job.attempts,
                JobStatus.failed,
                None,
                "unknown_kind",
                f"No worker knows the job kind {job.kind!r}.",
            )
        )
        return Step(job_id=job_id, outcome="failed", kind=job.kind, error_code="unknown_kind")
    log.info("job_started", job_id=job_id, kind=job.kind, attempt=job.attempts)
    _delete_staging(rt.resources.storage, job.id)
    attempt = Attempt(rt, job, kind)

    def body() -> Step:
        ctx = JobContext(attempt)
        if kind.prepare is not None:
            items = list(kind.prepare(ctx))
            attempt.raise_if_stopped()
            # The ledger first: once a part is sent, its fate is recorded in the database.
            if not rt.call(_plan_parts(rt, job.id, job.attempts, items)):
                raise JobLost(str(job.id))
            attempt.report(PREPARED_AT, f"processing {len(items)} parts")
            return attempt.step("planned", items=items)
        assert kind.run is not None
        result = kind.run(ctx)
        return attempt.succeed(ctx, result)

    return _guarded(attempt, body)


def _held(rt: WorkerRuntime, job_id: str, attempt_no: int) -> tuple[Job, JobKind] | None:
    job = rt.call(_load(rt, uuid.UUID(job_id)))
    if job is None or job.status != JobStatus.running or job.attempts != attempt_no:
        return None
    return job, get_kind(job.kind)


def run_item(
    job_id: str, attempt_no: int, index: int, total: int, item: Any, *, redelivered: bool = False
) -> Step:
    """Run one ``map`` item of a fan-out job's current attempt, if it is still to do.
    A part already done answers with its recorded value (nothing runs twice); one held by
    another live run is "skipped". ``redelivered``: the broker says an earlier delivery
    of this message was lost with its consumer, so its holder may be taken over."""
    rt = runtime()
    held = _held(rt, job_id, attempt_no)
    if held is None:
        return Step(job_id=job_id, outcome="skipped", attempt=attempt_no)
    job, kind = held
    assert kind.map is not None
    tries, status, done_value = rt.call(_claim_part(rt, job.id, attempt_no, index, redelivered))
    if tries is None:
        if status is None and redelivered:
            return Step(job_id=job_id, outcome="later", queue=kind.queue, attempt=attempt_no)
        if status == PartStatus.done:
            return Step(job_id=job_id, outcome="mapped", attempt=attempt_no, value=done_value)
        return Step(job_id=job_id, outcome="skipped", attempt=attempt_no)
    part = PartClaim(index, tries)
    attempt = Attempt(rt, job, kind, part)
    map_item = kind.map

    def body() -> Step:
        ctx = JobContext(attempt, item_index=index)
        value = map_item(ctx, item)
        attempt.raise_if_stopped()
        share = (MAPPED_AT - PREPARED_AT) / max(total, 1)
        recorded, last = rt.call(_complete_part(rt, job.id, attempt_no, part, value, share))
        if not recorded:
            raise JobLost(job_id)
        return attempt.step("mapped", value=value, last=last)

    return _guarded(attempt, body)


def run_reduce(job_id: str, attempt_no: int, values: list[Any] | None = None) -> Step:
    """Join a fan-out job's part results (read from the ledger, whoever sent them) and
    finish it; only one run takes the reduce."""
    rt = runtime()
    held = _held(rt, job_id, attempt_no)
    if held is None:
        return Step(job_id=job_id, outcome="skipped", attempt=attempt_no)
    job, kind = held
    assert kind.reduce is not None
    tries, _, _ = rt.call(_claim_part(rt, job.id, attempt_no, REDUCE_POSITION, False))
    if tries is None:
        return Step(job_id=job_id, outcome="skipped", attempt=attempt_no)
    attempt = Attempt(rt, job, kind, PartClaim(REDUCE_POSITION, tries))
    reduce = kind.reduce

    def body() -> Step:
        ctx = JobContext(attempt)
        attempt.report(MAPPED_AT, "finishing")
        recorded = rt.call(_part_values(rt, job.id, attempt_no))
        return attempt.succeed(ctx, reduce(ctx, recorded))

    return _guarded(attempt, body)


def fail_fanout(job_id: str, attempt_no: int, code: str, message: str) -> None:
    """An item could not run at all (its task errored outside job code)."""
    rt = runtime()
    rt.call(_finish(rt, uuid.UUID(job_id), attempt_no, JobStatus.failed, None, code, message))
    _delete_staging(rt.resources.storage, uuid.UUID(job_id))
