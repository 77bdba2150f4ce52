"""What a job kind's code gets: progress, cancellation, storage, settings, scratch space and
staged outputs. Everything here is synchronous: job code runs in worker processes."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spatialviz.config import Settings
from spatialviz.kit.storage import BlobStorage, BlobWriter

if TYPE_CHECKING:
    from spatialviz.job.runtime import Attempt


class JobCancelled(Exception):
    """Raised by :meth:`JobContext.check_cancelled`; the runner marks the job cancelled."""


class JobLost(Exception):
    """This attempt no longer holds the job (reaped after a stall, or re-claimed)."""


class JobError(Exception):
    """A failure the client should see: ``code`` is stable, ``message`` human-readable.
    ``retryable`` failures go back to the queue while attempts remain."""

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code, self.message, self.retryable = code, message, retryable


def staging_root(job_id: uuid.UUID) -> str:
    return f"jobs/{job_id}/staging"


class JobContext:
    """Handed to ``run``/``prepare``/``map``/``reduce``.

    Outputs: write with :meth:`output` (or :meth:`put_output`) under their *final* key; they
    are staged under ``jobs/{id}/staging/{attempt}/`` and published only when the whole job
    succeeds, so a cancelled, failed or crashed attempt leaves no partial output behind.
    """

    def __init__(self, attempt: Attempt, *, item_index: int | None = None) -> None:
        self._attempt = attempt
        job = attempt.job
        self.job_id: uuid.UUID = job.id
        self.kind: str = job.kind
        self.params: dict[str, Any] = dict(job.params or {})
        self.attempt: int = job.attempts
        self.workspace_id: uuid.UUID = job.workspace_id
        self.dataset_id: uuid.UUID | None = job.dataset_id
        self.scene_id: uuid.UUID | None = job.scene_id
        self.item_index = item_index
        self.settings: Settings = attempt.runtime.settings
        self.storage: BlobStorage = attempt.runtime.resources.storage
        self.scratch: Path = attempt.scratch
        self._last_progress = 0.0

    @property
    def staging_prefix(self) -> str:
        return f"{staging_root(self.job_id)}/{self.attempt}"

    def progress(self, fraction: float, stage: str | None = None) -> None:
        """Report progress in [0, 1] (and optionally a short stage message). Stored and
        published at most every ``jobs_progress_interval_seconds`` unless the stage
        changes; also checks for cancellation."""
        now = time.monotonic()
        due = now - self._last_progress >= self.settings.jobs_progress_interval_seconds
        if due or stage is not None or fraction >= 1.0:
            self._last_progress = now
            self._attempt.report(min(max(fraction, 0.0), 1.0), stage)
        self.check_cancelled()

    def check_cancelled(self) -> None:
        """Raise :class:`JobCancelled` if someone asked the job to stop (seen within one
        heartbeat), or :class:`JobLost` if this attempt lost the job."""
        self._attempt.raise_if_stopped()

    def output(self, key: str) -> BlobWriter:
        return self.storage.writer(f"{self.staging_prefix}/{key}")

    def put_output(self, key: str, data: bytes) -> None:
        self.storage.put_bytes(f"{self.staging_prefix}/{key}", data)
