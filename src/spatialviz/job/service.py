"""Creating, reading, cancelling and retrying jobs. Never commits: a created job is sent to
the runner only after the caller's transaction commits (a rollback sends nothing)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.job.exceptions import (
    IdempotencyKeyReused,
    JobAlreadyFinished,
    JobNotFound,
    JobNotRetryable,
    UnknownKind,
)
from spatialviz.job.registry import UnknownJobKind, get_kind, queue_for
from spatialviz.job.repository import JobRepository
from spatialviz.job.schemas import job_channel, job_message
from spatialviz.kit.cache import PubSub
from spatialviz.kit.db import after_commit
from spatialviz.kit.jobs import JobQueue
from spatialviz.kit.pagination import decode_cursor, encode_cursor
from spatialviz.kit.tenancy import Principal, require_role
from spatialviz.models.job import Job, JobStatus
from spatialviz.models.workspace import Role

log = structlog.get_logger(__name__)


_RETRYABLE = frozenset({JobStatus.failed, JobStatus.cancelled})


class JobService:
    def __init__(
        self,
        session: AsyncSession,
        queue: JobQueue,
        pubsub: PubSub,
        *,
        default_max_attempts: int = 3,
    ) -> None:
        self.session = session
        self.queue = queue
        self.pubsub = pubsub
        self.default_max_attempts = default_max_attempts
        self.repository = JobRepository(session)

    async def create(
        self,
        *,
        workspace_id: uuid.UUID,
        kind: str,
        params: dict[str, Any] | None = None,
        dataset_id: uuid.UUID | None = None,
        scene_id: uuid.UUID | None = None,
        idempotency_key: str | None = None,
        retry_failed: bool = False,
    ) -> Job:
        """Record a job in the caller's transaction and send it once that commits. With an
        ``idempotency_key``, creating it again returns the first job and sends nothing;
        with ``retry_failed`` too, a failed or cancelled first job gives its key up to a new
        one (it stays in the history), so a transient failure is not remembered forever."""
        try:
            job_kind = get_kind(kind)
        except UnknownJobKind:
            raise UnknownKind(f"No job kind is named {kind!r}.") from None
        if idempotency_key is not None:
            existing = await self.repository.get_by_idempotency_key(idempotency_key)
            if existing is not None:
                existing = self._same_job(existing, workspace_id, kind)
                if not (retry_failed and existing.status in _RETRYABLE):
                    return existing
                existing.idempotency_key = None
                await self.session.flush()
        job = Job(
            workspace_id=workspace_id,
            kind=kind,
            params=params or {},
            dataset_id=dataset_id,
            scene_id=scene_id,
            idempotency_key=idempotency_key,
            max_attempts=job_kind.max_attempts or self.default_max_attempts,
            status=JobStatus.queued,
        )
        if idempotency_key is not None and self.session.get_bind().dialect.name == "postgresql":
            # A concurrent request may insert the same key first: take its job instead.
            try:
                async with self.session.begin_nested():
                    self.session.add(job)
                    await self.session.flush()
            except IntegrityError:
                existing = await self.repository.get_by_idempotency_key(idempotency_key)
                if existing is None:
                    raise
                return self._same_job(existing, workspace_id, kind)
        else:
            await self.repository.add(job)
        self._send_after_commit(job.id, job_kind.queue)
        return job

    @staticmethod
    def _same_job(existing: Job, workspace_id: uuid.UUID, kind: str) -> Job:
        if existing.workspace_id != workspace_id or existing.kind != kind:
            raise IdempotencyKeyReused()
        return existing

    def _send_after_commit(self, job_id: uuid.UUID, queue: str) -> None:
        async def send() -> None:
            await self.queue.enqueue(job_id, queue)

        after_commit(self.session, send)

    def _publish_after_commit(self, job: Job) -> None:
        message, channel = job_message(job), job_channel(job.id)

        async def publish() -> None:
            try:
                await self.pubsub.publish(channel, message)
            except Exception as exc:
                log.warning("job_publish_failed", job_id=str(job.id), error=repr(exc))

        after_commit(self.session, publish)

    async def get(self, principal: Principal, job_id: uuid.UUID) -> Job:
        job = await self.repository.get(principal, job_id)
        if job is None:
            raise JobNotFound()
        return job

    async def page(
        self,
        principal: Principal,
        *,
        limit: int,
        cursor: str | None = None,
        dataset_id: uuid.UUID | None = None,
        scene_id: uuid.UUID | None = None,
    ) -> tuple[Sequence[Job], str | None]:
        jobs = await self.repository.page(
            principal,
            limit=limit + 1,
            after=decode_cursor(cursor),
            dataset_id=dataset_id,
            scene_id=scene_id,
        )
        if len(jobs) <= limit:
            return jobs, None
        last = jobs[limit - 1]
        return jobs[:limit], encode_cursor(last.created_at, last.id)

    async def _editable(self, principal: Principal, job_id: uuid.UUID) -> Job:
        job = await self.get(principal, job_id)
        require_role(principal, job.workspace_id, Role.editor)
        return job

    async def cancel(self, principal: Principal, job_id: uuid.UUID) -> Job:
        """Cancel a queued job at once; ask a running one to stop (its worker sees it
        within a heartbeat, deletes partial outputs and marks it cancelled)."""
        job = await self._editable(principal, job_id)
        if job.status in (JobStatus.succeeded, JobStatus.failed):
            raise JobAlreadyFinished(f"The job has already {job.status.value}.")
        await self.repository.request_cancel(job.id)
        job = await self.repository.reload(job)
        self._publish_after_commit(job)
        return job

    async def retry(self, principal: Principal, job_id: uuid.UUID) -> Job:
        job = await self._editable(principal, job_id)
        if not await self.repository.reset_for_retry(job.id):
            raise JobNotRetryable(f"The job is {job.status.value}.")
        job = await self.repository.reload(job)
        self._send_after_commit(job.id, queue_for(job.kind))
        self._publish_after_commit(job)
        return job
