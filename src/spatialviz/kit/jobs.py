"""The seam between a request and the background-job runner: enqueue a job id on a queue.

The concrete runners (embedded process pool, Celery) live in ``spatialviz.job``; the app's
lifespan installs one on :class:`~spatialviz.kit.resources.Resources`.
"""

from __future__ import annotations

import uuid
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)


class JobQueue(Protocol):
    async def enqueue(self, job_id: uuid.UUID, queue: str) -> None:
        """Send the job to a runner. Never raises for a broker outage: the job row is
        committed and the reaper sends it again later."""
        ...

    async def aclose(self) -> None: ...


class UnstartedJobQueue:
    """Before a runner is installed (scripts, migrations): jobs stay queued for a runner."""

    async def enqueue(self, job_id: uuid.UUID, queue: str) -> None:
        log.warning("job_not_sent_no_runner", job_id=str(job_id), queue=queue)

    async def aclose(self) -> None:
        return None
