"""The storage's temporary area is swept at start-up and then periodically, so a write cut
short by a crash (kill -9 mid-upload, OOM, power loss) costs no disk for long. The same
loop carries out blob deletions that waited for a backup (kit/backup_lease.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import anyio
import structlog

from spatialviz.kit.backup_lease import run_deferred_deletes
from spatialviz.kit.storage import BlobStorage

log = structlog.get_logger(__name__)


async def sweep_temporary_forever(
    storage: BlobStorage,
    max_age_seconds: float,
    interval_seconds: float,
    also: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Never fatal: a failed sweep is logged and tried again at the next interval. ``also``
    sweeps more at the same pace (the workers' local leftovers, job/leftovers.py)."""
    while True:
        try:
            swept = await anyio.to_thread.run_sync(storage.sweep_temporary, max_age_seconds)
            if swept.items:
                log.info("storage_tmp_swept", items=swept.items, bytes=swept.bytes)
        except Exception as exc:
            log.warning("storage_tmp_sweep_failed", error=repr(exc))
        try:
            # Blob deletions a backup held back (kit/backup_lease.py), once none runs.
            done = await anyio.to_thread.run_sync(run_deferred_deletes, storage)
            if done:
                log.info("deferred_deletes_done", count=done)
        except Exception as exc:
            log.warning("deferred_deletes_failed", error=repr(exc))
        if also is not None:
            try:
                more = await also()
                if more:
                    log.info("leftovers_swept", swept=repr(more))
            except Exception as exc:
                log.warning("leftovers_sweep_failed", error=repr(exc))
        await asyncio.sleep(interval_seconds)
