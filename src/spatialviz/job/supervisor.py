"""Keeping jobs moving: the reaper (no job stays `running` after its worker died, none
stays `queued` after its message was lost) and the queue-depth gauge. Runs in the app's
lifespan in both modes and as a periodic Celery task; conditional UPDATEs make several
reapers safe."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spatialviz.config import Settings
from spatialviz.job.metrics import JobMetrics
from spatialviz.job.registry import kind_names, queue_for
from spatialviz.job.repository import JobStore
from spatialviz.job.schemas import job_channel, job_message
from spatialviz.kit.cache import PubSub
from spatialviz.kit.db import transaction
from spatialviz.kit.jobs import JobQueue

log = structlog.get_logger(__name__)


async def reap(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, pubsub: PubSub | None
) -> list[tuple[uuid.UUID, str]]:
    """Requeue or finish jobs (and send again fan-out parts) whose worker is lost; return
    the jobs to send again."""
    async with transaction(sessions) as session:
        store = JobStore(session)
        resend, finished = await store.reap(settings)
        messages = []
        for job_id in [*finished, *(job_id for job_id, _ in resend)]:
            job = await store.get(job_id)
            if job is not None:
                messages.append((job_channel(job_id), job_message(job)))
    if resend or finished:
        log.warning("jobs_reaped", resent=len(resend), finished=len(finished))
    if pubsub is not None:
        for channel, message in messages:
            with contextlib.suppress(Exception):
                await pubsub.publish(channel, message)
    return resend


class JobSupervisor:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        queue: JobQueue,
        pubsub: PubSub,
        metrics: JobMetrics,
    ) -> None:
        self._sessions, self._settings = sessions, settings
        self._queue, self._pubsub, self._metrics = queue, pubsub, metrics
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="job-supervisor")

    async def tick(self) -> None:
        for job_id, kind in await reap(self._sessions, self._settings, self._pubsub):
            await self._queue.enqueue(job_id, queue_for(kind))
        async with transaction(self._sessions) as session:
            depth = await JobStore(session).queue_depth()
        self._metrics.set_queue_depth(depth, kind_names())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.jobs_reap_interval_seconds)
            try:
                await self.tick()
            except Exception as exc:
                log.warning("job_supervisor_failed", error=repr(exc))

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
