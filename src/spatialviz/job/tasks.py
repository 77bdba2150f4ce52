"""Celery tasks: thin adapters over :mod:`spatialviz.job.runtime`. Arguments are IDs and
small JSON values; every task is idempotent. Each reaches its process's runtime through
its app (:class:`~spatialviz.job.celery_app.JobCelery`)."""

from __future__ import annotations

from functools import cache
from typing import Any, assert_never

from celery import shared_task
from prometheus_client import REGISTRY

from spatialviz.job import runtime
from spatialviz.job.celery_app import RUN_TASK
from spatialviz.job.leftovers import sweep_leftovers_with
from spatialviz.job.metrics import JobMetrics
from spatialviz.job.registry import queue_for
from spatialviz.job.steps import Outcome, Step
from spatialviz.job.supervisor import reap
from spatialviz.job.worker import WorkerRuntime
from spatialviz.models.job_part import REDUCE_POSITION


@cache
def _metrics() -> JobMetrics:
    """Worker metrics go to the process's default registry (the ``spatialviz worker``
    command serves them, aggregated over pool processes in multiprocess mode)."""
    return JobMetrics(REGISTRY)


def _runtime(task: Any) -> WorkerRuntime:
    rt: WorkerRuntime = task.app.job_runtime
    return rt


@shared_task(name="spatialviz.jobs.sweep_leftovers", bind=True)
def sweep_leftovers_here(self: Any) -> str:
    return sweep_leftovers_with(_runtime(self))


def _redelivered(task: Any, taking_over: bool) -> bool:
    """Whether an earlier delivery of this message was lost with its consumer (its
    connection or pool process gone), so the work's holder may be dead."""
    return taking_over or bool((task.request.delivery_info or {}).get("redelivered"))


def _retry_job(task: Any, step: Step) -> None:
    """The job was released to ``queued``: send it again after a backoff."""
    task.app.send_task(
        RUN_TASK, args=[step.job_id], queue=step.queue, countdown=min(60, 2**step.attempt)
    )


@shared_task(name=RUN_TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
def run_job(self: Any, job_id: str, taking_over: bool = False) -> str:
    rt = _runtime(self)
    step = runtime.run_job(rt, job_id, redelivered=_redelivered(self, taking_over))
    _metrics().observe(step)
    match step.outcome:
        case Outcome.later:
            # The holder may yet be alive: look again a heartbeat later.
            self.apply_async(
                (job_id,),
                {"taking_over": True},
                queue=step.queue,
                countdown=rt.settings.jobs_heartbeat_seconds,
            )
        case Outcome.planned:
            _dispatch_parts(step)
        case Outcome.retry:
            _retry_job(self, step)
        case Outcome.finished | Outcome.mapped | Outcome.nothing:
            pass
        case _:
            assert_never(step.outcome)
    return step.outcome.value


def _dispatch_parts(step: Step) -> None:
    """Send each pending part as its own message (no chord: the join is the ledger in the
    database, so neither a lost part nor a result-backend outage can strand the job)."""
    pending = range(len(step.items)) if step.pending is None else step.pending
    for position in pending:
        if position == REDUCE_POSITION:
            reduce_job.apply_async((step.job_id, step.attempt), queue=step.queue)
            continue
        run_item.apply_async(
            (step.job_id, step.attempt, position, len(step.items), step.items[position]),
            queue=step.queue,
        )
    if not step.items and step.pending is None:
        reduce_job.apply_async((step.job_id, step.attempt), queue=step.queue)


@shared_task(name="spatialviz.jobs.item", bind=True, acks_late=True, reject_on_worker_lost=True)
def run_item(
    self: Any,
    job_id: str,
    attempt: int,
    index: int,
    total: int,
    item: Any,
    taking_over: bool = False,
) -> str:
    rt = _runtime(self)
    redelivered = _redelivered(self, taking_over)
    step = runtime.run_item(rt, job_id, attempt, index, total, item, redelivered=redelivered)
    _metrics().observe(step)
    match step.outcome:
        case Outcome.later:
            self.apply_async(
                (job_id, attempt, index, total, item),
                {"taking_over": True},
                queue=step.queue,
                countdown=rt.settings.jobs_heartbeat_seconds,
            )
        case Outcome.mapped if step.last:
            # If this send fails, the reduce stays pending in the ledger and the reaper
            # sends the job again, which sends the reduce.
            reduce_job.apply_async((job_id, attempt), queue=step.queue)
        case Outcome.retry:
            # A retryable error in a part released the whole job: send it again, as the
            # embedded runner does, rather than leave it to the reaper's requeue.
            _retry_job(self, step)
        case Outcome.finished | Outcome.mapped | Outcome.planned | Outcome.nothing:
            pass
        case _:
            assert_never(step.outcome)
    return step.outcome.value


@shared_task(name="spatialviz.jobs.reduce", bind=True, acks_late=True, reject_on_worker_lost=True)
def reduce_job(self: Any, job_id: str, attempt: int) -> str:
    step = runtime.run_reduce(_runtime(self), job_id, attempt)
    _metrics().observe(step)
    if step.outcome is Outcome.retry:
        _retry_job(self, step)
    return step.outcome.value


@shared_task(name="spatialviz.jobs.reap", bind=True)
def reap_jobs(self: Any) -> int:
    rt = _runtime(self)
    resend = rt.call(reap(rt.resources.sessions, rt.settings, rt.resources.pubsub))
    for job_id, kind in resend:
        self.app.send_task(RUN_TASK, args=[str(job_id)], queue=queue_for(kind))
    return len(resend)
