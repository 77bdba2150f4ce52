"""Blob deletions wait for a running backup: the backup lease and deferred deletions.

A backup takes one database snapshot, then reads the blobs (most of its run). A scene or
dataset deleted meanwhile is still in that snapshot, so its blobs must outlive the backup.

- ``spatialviz backup`` writes a **lease** (:data:`LEASE_PREFIX` ``<id>.json``, holding an
  expiry) *before* it takes the snapshot, renews it while it runs and removes it at the end,
  success or failure. A backup killed outright stops renewing: its lease goes stale after
  :data:`LEASE_TTL_SECONDS` and blocks nothing any more. One key per backup, so two
  backups that overlap do not end each other's lease.
- Code that removes blobs once a delete has committed calls :func:`delete_after_commit`.
  After the commit it looks for a fresh lease; if there is one it records the prefixes
  (:data:`DEFERRED_PREFIX` ``<uuid>.json``) instead of deleting.
- :func:`run_deferred_deletes` carries the records out once no lease is fresh: at the end of
  every backup and in the app's periodic storage sweep (kit/sweep.py).

Everything lives in the ``.ops`` dot-folder, which backups skip and restore ignores. Expiry
is compared with this host's clock: the backup host and the API hosts must agree to well
within :data:`LEASE_TTL_SECONDS` (NTP does).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from types import TracebackType

import anyio
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.kit.db import after_commit
from spatialviz.kit.storage import BlobNotFound, BlobStorage

LEASE_PREFIX = ".ops/backup-leases/"
DEFERRED_PREFIX = ".ops/deferred-deletes/"
#: How long a lease holds without renewal; renewed every third of it.
LEASE_TTL_SECONDS = 120.0

log = structlog.get_logger(__name__)


class LeaseLapsed(RuntimeError):
    """The backup could not renew its lease in time: deletions may have gone ahead."""


class BackupLease:
    """A context manager: the lease is written on entry (before the caller's snapshot),
    renewed by a thread, removed on exit. :meth:`check` raises :class:`LeaseLapsed` if it
    was ever renewed late (past its expiry), so that backup is not trusted."""

    def __init__(self, storage: BlobStorage, ttl_seconds: float = LEASE_TTL_SECONDS) -> None:
        self._storage = storage
        self._ttl = ttl_seconds
        self.key = f"{LEASE_PREFIX}{uuid.uuid4().hex}.json"
        self._expires_at = 0.0
        self._lapsed = False
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew, name="backup-lease", daemon=True)

    def _write(self) -> None:
        now = time.time()
        if self._expires_at and now >= self._expires_at:
            self._lapsed = True
        expires_at = now + self._ttl
        self._storage.put_bytes(self.key, json.dumps({"expires_at": expires_at}).encode())
        self._expires_at = expires_at

    def _renew(self) -> None:
        while not self._stop.wait(self._ttl / 3):
            try:
                self._write()
            except Exception as exc:  # a storage hiccup: the next renewal may succeed
                log.warning("backup_lease_renewal_failed", error=repr(exc))

    def __enter__(self) -> BackupLease:
        self._write()
        self._renewer.start()
        return self

    def check(self) -> None:
        if self._lapsed or time.time() >= self._expires_at:
            raise LeaseLapsed(
                "the backup lease lapsed (not renewed in time): deletions may have removed "
                "blobs this backup needed; run it again"
            )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._renewer.join()
        try:
            self._storage.delete(self.key)
        except Exception as exc:
            # Not raised over the backup's own outcome: the lease expires on its own
            # within the TTL and the next sweep removes it.
            log.warning("backup_lease_not_removed", lease=self.key, error=repr(exc))


def write_lease(storage: BlobStorage, key: str, expires_at: float) -> None:
    """A lease as a backup writes it (tests write stale ones with this)."""
    storage.put_bytes(key, json.dumps({"expires_at": expires_at}).encode())


def _leases(storage: BlobStorage) -> dict[str, float]:
    """Every lease's key and expiry. Writes are atomic (local rename, S3 PUT), so a lease
    that does not parse is not a backup's: it is logged and ignored rather than let it
    block deletions for ever."""
    found: dict[str, float] = {}
    for key in list(storage.list_keys(LEASE_PREFIX)):
        try:
            found[key] = float(json.loads(storage.read_bytes(key))["expires_at"])
        except BlobNotFound:
            continue  # its backup ended while we listed
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("backup_lease_unreadable", lease=key, error=repr(exc))
    return found


def fresh_lease(storage: BlobStorage) -> bool:
    """Whether any backup holds an unexpired lease. Blocking: call it in a thread."""
    now = time.time()
    return any(expires_at > now for expires_at in _leases(storage).values())


def delete_or_defer(storage: BlobStorage, prefixes: list[str]) -> bool:
    """Delete ``prefixes`` now, or record them for later if a backup holds a lease.
    Returns whether they were deferred. Blocking: call it in a thread.

    Called only AFTER the transaction that deleted the rows has committed, and that order
    is what makes it race-free: a backup whose snapshot still holds the rows took that
    snapshot before the commit, and it wrote its lease before its snapshot, so the lease is
    in storage before this check reads it (storage reads see completed writes: local files,
    S3's strong read-after-write). A backup that writes its lease after this check takes
    its snapshot after the commit too, so it does not hold the rows and needs none of
    these blobs; if it lists one we delete under it, it skips it (ops/backup.py)."""
    if fresh_lease(storage):
        record = {"prefixes": prefixes, "deferred_at": time.time()}
        storage.put_bytes(f"{DEFERRED_PREFIX}{uuid.uuid4().hex}.json", json.dumps(record).encode())
        log.info("blob_delete_deferred", prefixes=prefixes)
        return True
    for prefix in prefixes:
        storage.delete_prefix(prefix)
    return False


def delete_after_commit(session: AsyncSession, storage: BlobStorage, prefix: str) -> None:
    """Remove ``prefix``'s blobs once ``session`` commits (deferred while a backup runs)."""

    async def delete_blobs() -> None:
        await anyio.to_thread.run_sync(delete_or_defer, storage, [prefix])

    after_commit(session, delete_blobs)


def run_deferred_deletes(storage: BlobStorage) -> int:
    """Carry out the recorded deletions if no backup holds a lease; returns how many
    records were done. Any backup that needs a recorded prefix held its lease when the
    record was written (see :func:`delete_or_defer`) and keeps it until it ends, so no
    fresh lease means none of them is still running. Blocking: call it in a thread."""
    leases = _leases(storage)
    now = time.time()
    if any(expires_at > now for expires_at in leases.values()):
        return 0
    for key in leases:
        # A killed backup's lease, stale: tidied. Its backup, if it somehow still runs,
        # renewed late and so fails its own check (BackupLease.check).
        storage.delete(key)
    done = 0
    for key in list(storage.list_keys(DEFERRED_PREFIX)):
        try:
            record = json.loads(storage.read_bytes(key))
        except BlobNotFound:
            continue  # another process carried it out meanwhile
        for prefix in record["prefixes"]:
            storage.delete_prefix(prefix)
        storage.delete(key)  # last: a crash part-way leaves it to be done again
        done += 1
    return done
