"""Celery tasks: thin adapters over :mod:`spatialviz.job.runtime`. Arguments are IDs and
small JSON values; every task is idempotent."""

from __future__ import annotations

from typing import Any

import structlog
from celery import shared_task, signals
from prometheus_client import REGISTRY

from spatialviz.job import runtime
from spatialviz.job.celery_app import RUN_TASK
from spatialviz.job.metrics import JobMetrics
from spatialviz.job.registry import load_kinds, queue_for
from spatialviz.job.runtime import Step
from spatialviz.models.job_part import REDUCE_POSITION

log = structlog.get_logger(__name__)
_metrics: JobMetrics | None = None


def _observe(step: Step) -> None:
    """Worker metrics go to the process's default registry (the ``spatialviz worker``
    command serves them, aggregated over pool processes in multiprocess mode)."""
    global _metrics
    if _metrics is None:
        _metrics = JobMetrics(REGISTRY)
    _metrics.observe(step)


@signals.worker_process_init.connect
def _process_init(**_: Any) -> None:
    load_kinds()
    sweep_leftovers_here()  # what a killed predecessor on this host left


@shared_task(name="spatialviz.jobs.sweep_leftovers")
def sweep_leftovers_here() -> str:
    """Never fatal (at start-up the database may be away: the next sweep takes it)."""
    from spatialviz.job.leftovers import sweep_leftovers

    try:
        rt = runtime.runtime()
        return repr(rt.call(sweep_leftovers(rt.settings, rt.resources.sessions)))
    except Exception as exc:
        log.warning("leftovers_sweep_failed", error=repr(exc))
        return "failed"


@signals.worker_process_shutdown.connect
def _process_shutdown(**_: Any) -> None:
    runtime.shutdown_runtime()


@shared_task(name=RUN_TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
def run_job(self: Any, job_id: str) -> str:
    step = runtime.run_job(job_id)
    _observe(step)
    if step.outcome == "planned":
        _dispatch_parts(step)
    elif step.outcome == "retry":
        self.app.send_task(
            RUN_TASK, args=[job_id], queue=step.queue, countdown=min(60, 2**step.attempt)
        )
    return step.outcome


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
    # Redelivered: an earlier delivery was lost with its consumer (connection or pool
    # process gone), so the part's holder may be dead.
    redelivered = taking_over or bool((self.request.delivery_info or {}).get("redelivered"))
    step = runtime.run_item(job_id, attempt, index, total, item, redelivered=redelivered)
    if step.outcome == "later":
        self.apply_async(
            (job_id, attempt, index, total, item),
            {"taking_over": True},
            queue=step.queue,
            countdown=runtime.runtime().settings.jobs_heartbeat_seconds,
        )
        return step.outcome
    _observe(step)
    if step.last:
        # If this send fails, the reduce stays pending in the ledger and the reaper
        # sends the job again, which sends the reduce.
        reduce_job.apply_async((job_id, attempt), queue=step.queue)
    return step.outcome


@shared_task(name="spatialviz.jobs.reduce", acks_late=True, reject_on_worker_lost=True)
def reduce_job(job_id: str, attempt: int) -> str:
    step = runtime.run_reduce(job_id, attempt)
    _observe(step)
    return step.outcome


@shared_task(name="spatialviz.jobs.reap", bind=True)
def reap_jobs(self: Any) -> int:
    from spatialviz.job.supervisor import reap

    rt = runtime.runtime()
    resend = rt.call(reap(rt.resources.sessions, rt.settings, rt.resources.pubsub))
    for job_id, kind in resend:
        self.app.send_task(RUN_TASK, args=[str(job_id)], queue=queue_for(kind))
    return len(resend)
