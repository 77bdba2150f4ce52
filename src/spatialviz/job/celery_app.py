"""The production runner: Celery, with a RabbitMQ broker in production (a message a dead
worker held returns to the queue the moment its connection drops) or Redis (standalone or
Sentinel; such a message returns only after the visibility timeout, so lost parts are
sent again by the reaper from the job_parts ledger instead).

Messages carry job IDs only; the task functions in :mod:`spatialviz.job.tasks` are thin
adapters over :mod:`spatialviz.job.runtime`. Delivery is at-least-once (late acks, requeue
when a worker process dies); the runtime's atomic claim makes a second delivery a no-op.
"""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import structlog
from celery import Celery, signals
from celery.exceptions import SoftTimeLimitExceeded
from kombu import Queue

from spatialviz.config import Settings
from spatialviz.job.leftovers import sweep_leftovers_with
from spatialviz.job.registry import load_kinds
from spatialviz.job.worker import ProcessRuntime, WorkerRuntime, configure_worker_logging
from spatialviz.kit.redis_topology import topology

log = structlog.get_logger(__name__)

RUN_TASK = "spatialviz.jobs.run"
QUEUES = ("heavy", "light")


class JobCelery(Celery):
    """The Celery app, carrying the settings it was made with and each process's runtime:
    tasks reach it as ``self.app.job_runtime`` (no module state)."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__("spatialviz", **kwargs)
        self.settings = settings
        # Celery raises its soft time limit into job code: such a job fails with "timeout".
        self.process_runtime = ProcessRuntime(settings, time_limit_errors=(SoftTimeLimitExceeded,))

    @property
    def job_runtime(self) -> WorkerRuntime:
        return self.process_runtime.get()


def create_celery(settings: Settings) -> JobCelery:
    broker = settings.broker_url
    # Celery cannot speak to a Redis Cluster nor read a redis+sentinel:// URL (config.py
    # refuses them as the broker); results are ignored anyway, so such a URL is simply not
    # used as the result backend.
    backend = settings.celery_result_backend or (
        None if topology(settings.redis_url or "") != "single" else settings.redis_url
    )
    app = JobCelery(settings, broker=broker, backend=backend, include=["spatialviz.job.tasks"])
    transport: dict[str, object] = {
        # Late acks keep a message unacknowledged for the whole task: the broker must not
        # hand it to another worker before the longest task could end.
        "visibility_timeout": settings.jobs_visibility_timeout_seconds,
        "socket_connect_timeout": settings.redis_timeout_seconds,
        "socket_timeout": max(settings.redis_timeout_seconds, 5.0),
    }
    if settings.celery_sentinel_master:
        transport["master_name"] = settings.celery_sentinel_master
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        # Nothing reads task results: a fan-out joins through the job_parts ledger in the
        # database, so the result backend (Redis) is off the jobs' path entirely.
        task_ignore_result=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="light",
        task_create_missing_queues=False,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        task_soft_time_limit=settings.jobs_soft_time_limit_seconds,
        task_time_limit=settings.jobs_hard_time_limit_seconds,
        broker_transport_options=transport,
        result_backend_transport_options=dict(transport),
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=settings.redis_timeout_seconds,
        task_publish_retry=True,
        task_publish_retry_policy={
            "max_retries": 3,
            "interval_start": 0.2,
            "interval_step": 0.5,
            "interval_max": 1.0,
        },
        result_expires=24 * 3600,
        beat_schedule={
            "reap-jobs": {
                "task": "spatialviz.jobs.reap",
                "schedule": settings.jobs_reap_interval_seconds,
                "options": {"queue": "light", "expires": settings.jobs_reap_interval_seconds},
            },
            "sweep-leftovers": {
                "task": "spatialviz.jobs.sweep_leftovers",
                "schedule": settings.storage_sweep_interval_seconds,
                "options": {"queue": "light", "expires": settings.storage_sweep_interval_seconds},
            },
        },
    )
    return app


def start_worker(settings: Settings, argv: list[str]) -> None:
    """The ``spatialviz worker`` command: this process and its pool load the kinds and
    make their runtime on first use; each pool process closes its own on exit."""
    configure_worker_logging(settings)
    load_kinds(settings.jobs_kind_modules)
    app = create_celery(settings)

    def close_runtime(**_: object) -> None:
        app.process_runtime.close()

    def sweep_on_start(**_: object) -> None:
        sweep_leftovers_with(app.process_runtime.get())  # what a killed predecessor left

    signals.worker_process_init.connect(sweep_on_start, weak=False)
    signals.worker_process_shutdown.connect(close_runtime, weak=False)
    app.worker_main(argv)


class CeleryJobQueue:
    """Sends job IDs to Celery from the API process (in a thread: publishing blocks)."""

    def __init__(self, settings: Settings) -> None:
        self._app = create_celery(settings)

    async def enqueue(self, job_id: uuid.UUID, queue: str) -> None:
        def send() -> None:
            self._app.send_task(RUN_TASK, args=[str(job_id)], queue=queue)

        try:
            await anyio.to_thread.run_sync(send)
        except Exception as exc:
            # The job is committed: the reaper sends it again once the broker is back.
            log.error("job_enqueue_failed", job_id=str(job_id), error=repr(exc))

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self._app.close)
