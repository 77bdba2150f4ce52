"""Celery tasks: thin adapters over :mod:`spatialviz.job.runtime`. Arguments are IDs and
small JSON values; every task is idempotent."""

from __future__ import annotations

from typing import Any

from celery import chord, group, shared_task, signals
from prometheus_client import REGISTRY

from spatialviz.job import runtime
from spatialviz.job.celery_app import RUN_TASK
from spatialviz.job.metrics import JobMetrics
from spatialviz.job.registry import load_kinds, queue_for
from spatialviz.job.runtime import Step

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


@signals.worker_process_shutdown.connect
def _process_shutdown(**_: Any) -> None:
    runtime.shutdown_runtime()


@shared_task(name=RUN_TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
def run_job(self: Any, job_id: str) -> str:
    step = runtime.run_job(job_id)
    _observe(step)
    if step.outcome == "planned":
        _dispatch_fanout(step)
    elif step.outcome == "retry":
        self.app.send_task(
            RUN_TASK, args=[job_id], queue=step.queue, countdown=min(60, 2**step.attempt)
        )
    return step.outcome


def _dispatch_fanout(step: Step) -> None:
    total = len(step.items)
    if total == 0:
        reduce_job.apply_async(([], step.job_id, step.attempt), queue=step.queue)
        return
    items = [
        run_item.si(step.job_id, step.attempt, index, total, item).set(queue=step.queue)
        for index, item in enumerate(step.items)
    ]
    callback = reduce_job.s(step.job_id, step.attempt).set(queue=step.queue)
    chord(group(items), callback).apply_async()


@shared_task(name="spatialviz.jobs.item", acks_late=True, reject_on_worker_lost=True)
def run_item(job_id: str, attempt: int, index: int, total: int, item: Any) -> dict[str, Any]:
    step = runtime.run_item(job_id, attempt, index, total, item)
    _observe(step)
    return {"outcome": step.outcome, "value": step.value}


@shared_task(name="spatialviz.jobs.reduce", acks_late=True, reject_on_worker_lost=True)
def reduce_job(results: list[dict[str, Any]], job_id: str, attempt: int) -> str:
    if any(r.get("outcome") != "mapped" for r in results):
        return "skipped"
    step = runtime.run_reduce(job_id, attempt, [r.get("value") for r in results])
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
