"""Choosing and starting the job runner for the app: Celery when a broker is configured,
the embedded process pool otherwise."""

from __future__ import annotations

from spatialviz.job.metrics import JobMetrics
from spatialviz.job.registry import load_kinds
from spatialviz.job.supervisor import JobSupervisor
from spatialviz.kit.jobs import JobQueue
from spatialviz.kit.resources import Resources


async def start_jobs(resources: Resources) -> JobSupervisor:
    """Install the runner on ``resources.jobs`` and start the supervisor (the caller closes
    the supervisor, then the resources, which close the runner)."""
    load_kinds(resources.settings.jobs_kind_modules)
    metrics = JobMetrics(resources.registry)
    queue: JobQueue
    if resources.settings.uses_celery:
        from spatialviz.job.celery_app import CeleryJobQueue

        queue = CeleryJobQueue(resources.settings)
    else:
        from spatialviz.job.embedded import EmbeddedJobQueue

        embedded = EmbeddedJobQueue(resources, metrics)
        await embedded.start()
        queue = embedded
    resources.jobs = queue
    supervisor = JobSupervisor(
        resources.sessions, resources.settings, queue, resources.pubsub, metrics
    )
    supervisor.start()
    return supervisor
