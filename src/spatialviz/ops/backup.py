"""Encrypted backups that restore: the database and every blob, in one age-encrypted stream.

``spatialviz backup OUT`` writes one file: an age (X25519) encryption of a tar stream holding
``manifest.json`` (format version, time, database kind, every blob's key, size and sha256),
the database (``pg_dump`` custom format for PostgreSQL, an online SQLite snapshot otherwise)
and the blobs. The clear stream only ever exists in a pipe between threads: nothing
unencrypted is written to disk, and only the recipients' public keys
(``SPATIALVIZ_BACKUP_RECIPIENTS``) are needed to make a backup, so the machine that runs it
cannot read old backups. ``spatialviz restore IN`` needs the identity
(``SPATIALVIZ_BACKUP_IDENTITY``, an ``AGE-SECRET-KEY-...``) from the environment, checks
every blob's sha256, and refuses a non-empty database or storage unless told ``--force``.

A backup of a running system does not block writes: ``pg_dump`` reads one MVCC snapshot;
SQLite's online backup copies pages between writers. Blobs are immutable once written
(content-addressed tiles, staged job outputs), so the blob list taken with the database
snapshot is complete for every row in it; blobs written after the snapshot are not needed.
Blobs are deleted only after their rows, and those deletions wait while a backup holds its
lease (written before the snapshot, kit/backup_lease.py), so a row in the snapshot keeps
its blobs until the backup has read them.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import sqlite3
import subprocess
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

import pyrage
import structlog
from pyrage import x25519

from spatialviz.config import Settings
from spatialviz.kit.backup_lease import BackupLease, LeaseLapsed, run_deferred_deletes
from spatialviz.kit.storage import BlobNotFound, BlobStorage
from spatialviz.ops.backup_status import BackupRecord, record_success

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PG_DUMP = "database.pgdump"
SQLITE_DUMP = "database.sqlite"
BLOB_DIR = "blobs/"

log = structlog.get_logger(__name__)


class BackupError(RuntimeError):
    """A backup or restore cannot go on; the message says why in one line."""


@dataclass(frozen=True)
class BlobEntry:
    key: str
    size: int
    sha256: str


# --- keys -----------------------------------------------------------------------------------


def recipients_from_env() -> list[x25519.Recipient]:
    raw = os.environ.get("SPATIALVIZ_BACKUP_RECIPIENTS", "")
    names = [r.strip() for r in raw.split(",") if r.strip()]
    if not names:
        raise BackupError(
            "SPATIALVIZ_BACKUP_RECIPIENTS is not set: the age public key(s) (age1...) that "
            "may decrypt the backup, comma-separated"
        )
    try:
        return [x25519.Recipient.from_str(name) for name in names]
    except pyrage.RecipientError as exc:
        raise BackupError(f"SPATIALVIZ_BACKUP_RECIPIENTS holds an invalid age key: {exc}") from None


def identity_from_env() -> x25519.Identity:
    raw = os.environ.get("SPATIALVIZ_BACKUP_IDENTITY", "").strip()
    if not raw:
        raise BackupError(
            "SPATIALVIZ_BACKUP_IDENTITY is not set: the AGE-SECRET-KEY-... to decrypt with"
        )
    try:
        return x25519.Identity.from_str(raw)
    except pyrage.IdentityError:
        raise BackupError("SPATIALVIZ_BACKUP_IDENTITY is not a valid age identity") from None


# --- backup ---------------------------------------------------------------------------------


def write_backup(
    settings: Settings,
    storage: BlobStorage,
    out: Path,
    *,
    force: bool,
    after_snapshot: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Encrypts the database and every blob into ``out``; returns the manifest.

    ``after_snapshot`` is called once the database snapshot is taken, before the blobs are
    read (most of a backup's time): the seam where tests/ops/test_backup.py holds a backup
    to show the running system's writes commit meanwhile."""
    recipients = recipients_from_env()
    _refuse_unsafe_output(settings, out, force=force)
    manifest: dict[str, Any] = {}
    partial = out.with_name(f".{out.name}.partial")

    def produce(stream: IO[bytes]) -> None:
        with tarfile.open(fileobj=stream, mode="w|") as tar:
            manifest.update(_archive(settings, storage, tar, after_snapshot))

    try:
        # The lease is written before the snapshot and held until every blob is read:
        # blobs of rows deleted meanwhile wait for it (kit/backup_lease.py).
        with BackupLease(storage) as lease:
            with partial.open("wb") as sink:
                _through_pipe(produce, lambda clear: pyrage.encrypt_io(clear, sink, recipients))
            try:
                lease.check()
            except LeaseLapsed as exc:
                raise BackupError(str(exc)) from None
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
        _run_deferred(storage)
    # Only now, with the file in place: the backup-age alert trusts this record.
    record_success(storage, BackupRecord(time.time(), out.stat().st_size))
    return manifest


def _run_deferred(storage: BlobStorage) -> None:
    # With this backup's lease gone, the deletions it held back can go (unless another
    # backup still runs). Never fails the backup: the app's periodic sweep retries.
    try:
        done = run_deferred_deletes(storage)
    except Exception as exc:
        log.warning("deferred_deletes_failed", error=repr(exc))
        return
    if done:
        log.info("deferred_deletes_done", count=done)


def _archive(
    settings: Settings,
    storage: BlobStorage,
    tar: tarfile.TarFile,
    after_snapshot: Callable[[], None] | None,
) -> dict[str, Any]:
    kind = _database_kind(settings.database_url)
    database = (
        _dump_postgres(settings.database_url)
        if kind == "postgresql"
        else _dump_sqlite(settings.database_url)
    )
    if after_snapshot is not None:
        after_snapshot()
    name = PG_DUMP if kind == "postgresql" else SQLITE_DUMP
    _add_bytes(tar, name, database)
    blobs = []
    for key in _blob_keys(storage):
        opened = _open_blob(storage, key)
        if opened is None:
            continue
        size, chunks = opened
        digest = hashlib.sha256()
        info = tarfile.TarInfo(BLOB_DIR + key)
        info.size = size
        tar.addfile(info, _HashingReader(chunks, digest))
        blobs.append(BlobEntry(key, size, digest.hexdigest()).__dict__)
    manifest = {
        "format": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(),
        "database": {"kind": kind, "file": name, "sha256": hashlib.sha256(database).hexdigest()},
        "blobs": blobs,
    }
    _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
    return manifest


def _open_blob(storage: BlobStorage, key: str) -> tuple[int, Iterator[bytes]] | None:
    """The blob's size and chunks, opened before its tar header is written; None if it was
    deleted since it was listed. That is safe to skip: a row in the snapshot cannot lose
    its blobs while the lease is held (deletions of its blobs are deferred), so a blob
    that vanishes belongs to no row in it (a delete that committed before the snapshot, a
    job's staged output moved to its final key)."""
    try:
        size = storage.size(key)
        chunks = storage.iter_chunks(key)
        first = next(chunks, b"")  # the generator opens the blob here
    except BlobNotFound:
        log.info("backup_blob_gone", blob=key)
        return None
    return size, itertools.chain([first], chunks)


def _blob_keys(storage: BlobStorage) -> Iterator[str]:
    # Dot-folders hold temporary files (uploads in flight), never finished blobs.
    for key in storage.list_keys(""):
        if not any(part.startswith(".") for part in key.split("/")):
            yield key


class _HashingReader(io.RawIOBase):
    """A read-only file over chunks that hashes what passes through (tarfile reads it)."""

    def __init__(self, chunks: Iterator[bytes], digest: Any) -> None:
        self._chunks = chunks
        self._digest = digest
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            self._digest.update(chunk)
            self._buffer += chunk
        if size < 0:
            size = len(self._buffer)
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _database_kind(url: str) -> str:
    scheme = urlparse(url).scheme
    if scheme.startswith("postgresql"):
        return "postgresql"
    if scheme.startswith("sqlite"):
        return "sqlite"
    raise BackupError(f"cannot back up a {scheme} database")


def libpq_url(url: str) -> str:
    parsed = urlparse(url)
    return parsed._replace(scheme="postgresql").geturl()


def _dump_postgres(url: str) -> bytes:
    # pg_dump's custom format is compressed; held in memory so no clear copy touches disk.
    result = subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--dbname", libpq_url(url)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def _sqlite_path(url: str) -> Path:
    return Path(url.split(":///", 1)[1])


def _dump_sqlite(url: str) -> bytes:
    source = sqlite3.connect(f"file:{_sqlite_path(url)}?mode=ro", uri=True)
    snapshot = sqlite3.connect(":memory:")
    try:
        source.backup(snapshot)  # SQLite's online backup: writers are not blocked
        return snapshot.serialize()
    finally:
        snapshot.close()
        source.close()


def _refuse_unsafe_output(settings: Settings, out: Path, *, force: bool) -> None:
    target = out.resolve()
    storage = urlparse(settings.storage_url)
    if storage.scheme == "file":
        root = Path(storage.netloc + storage.path).resolve()
        if target == root or root in target.parents:
            raise BackupError(f"{out} is inside the storage being backed up; write it elsewhere")
    if target.exists() and not force:
        raise BackupError(f"{out} exists; pass --force to replace it")
    if target.is_dir():
        raise BackupError(f"{out} is a folder; name a file")


# --- restore --------------------------------------------------------------------------------


def restore_backup(
    settings: Settings, storage: BlobStorage, source: Path, *, force: bool
) -> dict[str, Any]:
    """Decrypts ``source`` into the configured (empty) database and storage."""
    identity = identity_from_env()
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    if not force:
        _refuse_non_empty(settings, storage)
    state: dict[str, Any] = {}

    def consume(stream: IO[bytes]) -> None:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            state.update(_unpack(settings, storage, tar))

    with source.open("rb") as encrypted:
        try:
            _through_pipe(lambda clear: pyrage.decrypt_io(encrypted, clear, [identity]), consume)
        except pyrage.DecryptError:
            raise BackupError(f"{source} cannot be decrypted with this identity") from None
    return state


def _unpack(settings: Settings, storage: BlobStorage, tar: tarfile.TarFile) -> dict[str, Any]:
    seen: dict[str, str] = {}
    database: bytes | None = None
    for member in tar:
        if not member.isfile():
            raise BackupError(f"unexpected entry {member.name!r} in the backup")
        handle = tar.extractfile(member)
        assert handle is not None
        if member.name in (PG_DUMP, SQLITE_DUMP):
            database = handle.read()
            _load_database(settings.database_url, member.name, database)
        elif member.name.startswith(BLOB_DIR):
            key = member.name.removeprefix(BLOB_DIR)
            seen[key] = _store_blob(storage, key, handle)
        elif member.name == MANIFEST:
            manifest: dict[str, Any] = json.loads(handle.read())
            _check_against_manifest(manifest, seen, database)
            return manifest
        else:
            raise BackupError(f"unexpected entry {member.name!r} in the backup")
    raise BackupError("the backup ends before its manifest: it is truncated")


def _store_blob(storage: BlobStorage, key: str, handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    writer = storage.writer(key)
    try:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            writer.write(chunk)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return digest.hexdigest()


def _check_against_manifest(
    manifest: dict[str, Any], seen: dict[str, str], database: bytes | None
) -> None:
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"backup format {manifest.get('format')} is not {FORMAT_VERSION}")
    if database is None or hashlib.sha256(database).hexdigest() != manifest["database"]["sha256"]:
        raise BackupError("the database in the backup does not match its manifest")
    expected = {blob["key"]: blob["sha256"] for blob in manifest["blobs"]}
    if expected != seen:
        wrong = sorted(k for k in expected.keys() | seen.keys() if expected.get(k) != seen.get(k))
        raise BackupError(f"{len(wrong)} blob(s) do not match the manifest, e.g. {wrong[0]}")


def _load_database(url: str, name: str, data: bytes) -> None:
    kind = _database_kind(url)
    if (kind == "postgresql") != (name == PG_DUMP):
        raise BackupError(f"the backup holds {name}; the configured database is {kind}")
    if kind == "postgresql":
        result = subprocess.run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--dbname",
                libpq_url(url),
            ],
            input=data,
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(
                f"pg_restore failed: {result.stderr.decode(errors='replace').strip()}"
            )
        return
    # The snapshot is a complete database file image: written beside the target, then
    # renamed over it, so a reader never sees half a database.
    path = _sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.restoring")
    partial.write_bytes(data)
    for stale in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    partial.replace(path)


def _refuse_non_empty(settings: Settings, storage: BlobStorage) -> None:
    if next(_blob_keys(storage), None) is not None:
        raise BackupError("the storage is not empty; restore into an empty one (or --force)")
    if _database_has_tables(settings.database_url):
        raise BackupError("the database is not empty; restore into an empty one (or --force)")


def _database_has_tables(url: str) -> bool:
    if _database_kind(url) == "sqlite":
        path = _sqlite_path(url)
        if not path.exists():
            return False
        with closing(sqlite3.connect(path)) as conn:
            row = conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()
            return int(row[0]) > 0
    result = subprocess.run(
        [
            "psql",
            "--no-psqlrc",
            "-tA",
            "--dbname",
            libpq_url(url),
            "-c",
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"cannot read the target database: {result.stderr.strip()}")
    return int(result.stdout.strip() or 0) > 0


# --- plumbing -------------------------------------------------------------------------------


def _through_pipe(
    producer: Callable[[IO[bytes]], None], consumer: Callable[[IO[bytes]], None]
) -> None:
    """Runs ``producer`` writing into a pipe and ``consumer`` reading from it, in two
    threads: the clear stream lives only in the pipe's buffer. An error on either side
    closes the pipe so the other side ends too. The error raised is the cause: the
    producer's, unless it only saw the consumer hang up (a broken pipe)."""
    read_fd, write_fd = os.pipe()
    produced: list[BaseException] = []
    consumed: list[BaseException] = []

    def run_producer() -> None:
        try:
            with os.fdopen(write_fd, "wb") as sink:
                producer(sink)
        except BaseException as exc:
            produced.append(exc)

    thread = threading.Thread(target=run_producer, name="backup-pipe", daemon=True)
    thread.start()
    try:
        with os.fdopen(read_fd, "rb") as source:
            consumer(source)
    except BaseException as exc:
        consumed.append(exc)
    thread.join()
    causes = [e for e in produced if not isinstance(e, BrokenPipeError)] + consumed + produced
    if causes:
        raise causes[0]
