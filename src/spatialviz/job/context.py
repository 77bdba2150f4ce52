"""What a job kind's code gets: progress, cancellation, storage, settings, scratch space and
staged outputs. Everything here is synchronous: job code runs in worker processes."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any, Protocol

from spatialviz.config import Settings
from spatialviz.job.errors import JobCancelled, JobError, JobLost
from spatialviz.kit.storage import BlobStorage, BlobWriter
from spatialviz.models.job import Job

__all__ = ["AttemptControl", "JobCancelled", "JobContext", "JobError", "JobLost"]


class AttemptControl(Protocol):
    """What a context needs of the attempt that runs it (the runner's ``Attempt``)."""

    job: Job
    scratch: Path

    @property
    def settings(self) -> Settings: ...

    @property
    def storage(self) -> BlobStorage: ...

    def report(self, fraction: float | None, stage: str | None) -> None: ...

    def raise_if_stopped(self) -> None: ...


def staging_root(job_id: uuid.UUID) -> str:
    return f"jobs/{job_id}/staging"


class JobContext:
    """Handed to ``run``/``prepare``/``map``/``reduce``.

    Outputs: write with :meth:`output` (or :meth:`put_output`) under their *final* key; they
    are staged under ``jobs/{id}/staging/{attempt}/`` and published only when the whole job
    succeeds, so a cancelled, failed or crashed attempt leaves no partial output behind.
    """

    def __init__(
        self,
        attempt: AttemptControl,
        *,
        item_index: int | None = None,
        span: tuple[float, float] | None = (0.0, 1.0),
    ) -> None:
        """``span``: the part of the job's progress bar this code's [0, 1] covers (a
        fan-out's prepare or reduce phase); None for a map item, whose fraction is not
        the job's (parts run side by side; each finished part advances the job)."""
        self._attempt = attempt
        self._span = span
        job = attempt.job
        self.job_id: uuid.UUID = job.id
        self.kind: str = job.kind
        self.params: dict[str, Any] = dict(job.params or {})
        self.attempt: int = job.attempts
        self.workspace_id: uuid.UUID = job.workspace_id
        self.dataset_id: uuid.UUID | None = job.dataset_id
        self.scene_id: uuid.UUID | None = job.scene_id
        self.item_index = item_index
        self.settings: Settings = attempt.settings
        self.storage: BlobStorage = attempt.storage
        self.scratch: Path = attempt.scratch
        self._last_progress = 0.0
        self.points = 0

    @property
    def staging_prefix(self) -> str:
        return f"{staging_root(self.job_id)}/{self.attempt}"

    def progress(self, fraction: float, stage: str | None = None) -> None:
        """Report progress in [0, 1] of this code's work (and optionally a short stage
        message). Stored and published at most every ``jobs_progress_interval_seconds``
        unless the stage changes; also checks for cancellation."""
        now = time.monotonic()
        due = now - self._last_progress >= self.settings.jobs_progress_interval_seconds
        if due or stage is not None or fraction >= 1.0:
            self._last_progress = now
            on_bar = self._on_bar(fraction)
            if on_bar is not None or stage is not None:
                self._attempt.report(on_bar, stage)
        self.check_cancelled()

    def count_points(self, count: int) -> None:
        """Count points this step processed (``spatialviz_tiling_points_total``): reported
        with the step, so whichever process runs it (a Celery pool process, the embedded
        pool's parent) exports them."""
        self.points += count

    def _on_bar(self, fraction: float) -> float | None:
        if self._span is None:
            return None
        lo, hi = self._span
        return lo + (hi - lo) * min(max(fraction, 0.0), 1.0)

    def check_cancelled(self) -> None:
        """Raise :class:`JobCancelled` if someone asked the job to stop (seen within one
        heartbeat), or :class:`JobLost` if this attempt lost the job."""
        self._attempt.raise_if_stopped()

    def output(self, key: str) -> BlobWriter:
        return self.storage.writer(f"{self.staging_prefix}/{key}")

    def put_output(self, key: str, data: bytes) -> None:
        self.storage.put_bytes(f"{self.staging_prefix}/{key}", data)
