"""Worker files a killed process leaves behind, and the sweep that removes them.

Two kinds of worker files live on local disk, whatever the storage back end (S3 included):

- an attempt's **scratch** directory (a downloaded canonical file, an export being built):
  ``<var_dir>/scratch/job-<id>-*``. Its attempt holds an ``flock`` on the directory while it
  runs, so the sweep (age-based) never takes one in use; a killed process's lock dies with
  it.
- a tiling job's **work** directory (chunk files, the plan, part results):
  ``<tiling_work_dir>/<job id>/``. Its stages run in several processes one after another,
  with nobody holding it between them, so it is kept for as long as its job is live
  (queued or running) and removed once the job is final or gone.

``sweep_leftovers`` runs at start-up (the app's lifespan, each Celery pool process) and then
periodically (the app's storage sweep, Celery beat). Storage's own temporary writes (local
``.tmp``, S3 multipart uploads) are swept by ``BlobStorage.sweep_temporary``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import anyio
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spatialviz.config import Settings
from spatialviz.job.worker import WorkerRuntime
from spatialviz.models.job import FINAL_STATUSES, Job

log = structlog.get_logger(__name__)

#: A work directory younger than this is kept even if its job row is not found yet (the
#: sweep may read the jobs table before the transaction that made the job is visible).
_WORK_GRACE_SECONDS = 60.0


def scratch_root(settings: Settings) -> Path:
    root = (settings.var_dir / "scratch").resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def tiling_work_base(settings: Settings) -> Path:
    return Path(settings.tiling_work_dir or settings.var_dir / "tiling").resolve()


class HeldScratch:
    """A new scratch directory, locked until :meth:`release` (which removes it)."""

    def __init__(self, root: Path, prefix: str) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
        self._fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def release(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


@dataclass(frozen=True)
class SweptLeftovers:
    scratch: int
    work: int

    def __bool__(self) -> bool:
        return bool(self.scratch or self.work)


def sweep_scratch(root: Path, max_age_seconds: float) -> int:
    """Remove scratch directories untouched for ``max_age_seconds`` whose lock is free."""
    removed = 0
    cutoff = time.time() - max_age_seconds
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and _abandoned(Path(entry.path), cutoff):
                removed += 1
    return removed


def _abandoned(path: Path, cutoff: float) -> bool:
    try:
        if path.stat().st_mtime > cutoff:
            return False
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its attempt is running
        shutil.rmtree(path, ignore_errors=True)
        return True
    finally:
        os.close(fd)


def _work_dirs(base: Path) -> dict[uuid.UUID, Path]:
    """The job directories under ``base`` past the grace period."""
    if not base.is_dir():
        return {}
    found: dict[uuid.UUID, Path] = {}
    cutoff = time.time() - _WORK_GRACE_SECONDS
    with os.scandir(base) as entries:
        for entry in entries:
            try:
                job_id = uuid.UUID(entry.name)
                if entry.is_dir(follow_symlinks=False) and entry.stat().st_mtime <= cutoff:
                    found[job_id] = Path(entry.path)
            except (ValueError, FileNotFoundError):
                continue  # not a job's directory: never ours to remove
    return found


def _remove_all(paths: list[Path]) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


async def sweep_work(base: Path, sessions: async_sessionmaker[AsyncSession]) -> int:
    """Remove tiling work directories whose job is final or unknown."""
    found = await anyio.to_thread.run_sync(_work_dirs, base)
    if not found:
        return 0
    async with sessions() as session:
        rows = await session.execute(select(Job.id, Job.status).where(Job.id.in_(list(found))))
        live = {job_id for job_id, status in rows if status not in FINAL_STATUSES}
    gone = [path for job_id, path in found.items() if job_id not in live]
    await anyio.to_thread.run_sync(_remove_all, gone)
    return len(gone)


async def sweep_leftovers(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> SweptLeftovers:
    scratch = await anyio.to_thread.run_sync(
        sweep_scratch, scratch_root(settings), settings.storage_tmp_max_age_seconds
    )
    work = await sweep_work(tiling_work_base(settings), sessions)
    return SweptLeftovers(scratch=scratch, work=work)


def sweep_leftovers_with(rt: WorkerRuntime) -> str:
    """A worker's sweep, at pool-process start and on Celery beat's schedule. Never fatal:
    at start-up the database may be away, and the next sweep takes what this one missed."""
    try:
        return repr(rt.call(sweep_leftovers(rt.settings, rt.resources.sessions)))
    except Exception as exc:
        log.warning("leftovers_sweep_failed", error=repr(exc))
        return "failed"
