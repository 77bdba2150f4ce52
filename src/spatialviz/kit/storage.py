"""Blob storage behind one small interface: a local directory or an S3-compatible store.

The interface is synchronous on purpose: blobs are read and written by worker processes
doing CPU work, and async callers wrap calls in a thread (``anyio.to_thread``).
Keys are server-generated, slash-separated and never contain ``..``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import urlparse


class StorageError(RuntimeError):
    pass


class BlobNotFound(StorageError):
    pass


def validate_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\0" in key:
        raise StorageError(f"invalid storage key {key!r}")
    return key


class BlobWriter(Protocol):
    """A blob being written; invisible under its key until ``commit``."""

    def write(self, data: bytes) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


@dataclass(frozen=True)
class Swept:
    """What a sweep of abandoned temporary writes removed."""

    items: int = 0
    bytes: int = 0


class BlobStorage(Protocol):
    def writer(self, key: str) -> BlobWriter: ...
    def put_file(self, key: str, source: Path) -> None: ...
    def put_bytes(self, key: str, data: bytes) -> None: ...
    def get_file(self, key: str, dest: Path) -> None: ...
    def read_bytes(self, key: str, start: int = 0, end: int | None = None) -> bytes: ...
    def iter_chunks(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20
    ) -> Iterator[bytes]: ...
    def size(self, key: str) -> int: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def delete_prefix(self, prefix: str) -> int: ...
    def list_keys(self, prefix: str) -> Iterator[str]: ...
    def local_path(self, key: str) -> Path | None: ...
    def check(self) -> None: ...
    def sweep_temporary(self, max_age_seconds: float) -> Swept:
        """Remove writes abandoned by a process that died (kill -9, OOM, power loss):
        untouched for ``max_age_seconds`` and not held by any live writer."""
        ...


def _open_locked(path: Path) -> BinaryIO:
    """A new temporary file, locked for as long as it is open: the sweep never takes a file
    a live process is writing, and the lock dies with the process that held it."""
    fh = path.open("wb")
    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fh


class _LocalWriter:
    def __init__(self, final: Path, tmp: Path) -> None:
        self._final, self._tmp = final, tmp
        tmp.parent.mkdir(parents=True, exist_ok=True)
        self._fh: BinaryIO = _open_locked(tmp)

    def write(self, data: bytes) -> None:
        self._fh.write(data)

    def commit(self) -> None:
        self._fh.close()
        self._final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._tmp, self._final)

    def abort(self) -> None:
        self._fh.close()
        self._tmp.unlink(missing_ok=True)


class LocalStorage:
    """Blobs as files under one root; writes land atomically through a temp file."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / ".tmp").mkdir(exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def _tmp(self) -> Path:
        return self.root / ".tmp" / uuid.uuid4().hex

    def writer(self, key: str) -> BlobWriter:
        return _LocalWriter(self._path(key), self._tmp())

    def put_file(self, key: str, source: Path) -> None:
        tmp = self._tmp()
        with source.open("rb") as src, _open_locked(tmp) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)

    def put_bytes(self, key: str, data: bytes) -> None:
        w = self.writer(key)
        w.write(data)
        w.commit()

    def get_file(self, key: str, dest: Path) -> None:
        src = self._existing(key)
        shutil.copyfile(src, dest)

    def _existing(self, key: str) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise BlobNotFound(key)
        return path

    def read_bytes(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        with self._existing(key).open("rb") as fh:
            fh.seek(start)
            return fh.read() if end is None else fh.read(max(0, end - start))

    def iter_chunks(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20
    ) -> Iterator[bytes]:
        with self._existing(key).open("rb") as fh:
            fh.seek(start)
            remaining = None if end is None else end - start
            while remaining is None or remaining > 0:
                n = chunk_size if remaining is None else min(chunk_size, remaining)
                data = fh.read(n)
                if not data:
                    return
                if remaining is not None:
                    remaining -= len(data)
                yield data

    def size(self, key: str) -> int:
        return self._existing(key).stat().st_size

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        base = self._path(prefix.rstrip("/"))
        if base.is_file():
            base.unlink()
            return 1
        if not base.is_dir():
            return 0
        count = sum(1 for p in base.rglob("*") if p.is_file())
        shutil.rmtree(base, ignore_errors=True)
        return count

    def list_keys(self, prefix: str) -> Iterator[str]:
        # "" lists every key (backups); a prefix is checked like any key.
        base = self._path(prefix.rstrip("/")) if prefix else self.root
        if base.is_file():
            yield prefix.rstrip("/")
            return
        if base.is_dir():
            for p in sorted(base.rglob("*")):
                if p.is_file():
                    yield p.relative_to(self.root).as_posix()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def check(self) -> None:
        probe = self.root / ".tmp" / f"probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"ok")
        probe.unlink(missing_ok=True)

    def sweep_temporary(self, max_age_seconds: float) -> Swept:
        items = size = 0
        cutoff = time.time() - max_age_seconds
        for entry in os.scandir(self.root / ".tmp"):
            removed = _remove_if_abandoned(Path(entry.path), cutoff)
            if removed is not None:
                items, size = items + 1, size + removed
        return Swept(items, size)


def _remove_if_abandoned(path: Path, cutoff: float) -> int | None:
    """Unlink ``path`` if it was last written before ``cutoff`` and nobody holds its lock;
    its size if removed."""
    try:
        stat = path.stat()
        if not path.is_file() or stat.st_mtime > cutoff:
            return None
        with path.open("rb") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None  # a live writer holds it
            path.unlink()
    except FileNotFoundError:  # committed or aborted meanwhile
        return None
    return stat.st_size


class _S3Writer:
    """Multipart upload: parts of ≥ 8 MiB, so memory stays bounded for any blob size."""

    PART = 8 << 20

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self._c, self._bucket, self._key = client, bucket, key
        self._buf = bytearray()
        self._parts: list[dict[str, Any]] = []
        self._upload_id: str | None = None

    def _flush(self) -> None:
        if self._upload_id is None:
            resp = self._c.create_multipart_upload(Bucket=self._bucket, Key=self._key)
            self._upload_id = resp["UploadId"]
        n = len(self._parts) + 1
        resp = self._c.upload_part(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=n,
            Body=bytes(self._buf),
        )
        self._parts.append({"ETag": resp["ETag"], "PartNumber": n})
        self._buf.clear()

    def write(self, data: bytes) -> None:
        self._buf += data
        if len(self._buf) >= self.PART:
            self._flush()

    def commit(self) -> None:
        if self._upload_id is None:
            self._c.put_object(Bucket=self._bucket, Key=self._key, Body=bytes(self._buf))
            return
        if self._buf:
            self._flush()
        self._c.complete_multipart_upload(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )

    def abort(self) -> None:
        if self._upload_id is not None:
            self._c.abort_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id
            )
        self._buf.clear()


class S3Storage:
    """An S3-compatible bucket (AWS, MinIO, Ceph, R2) under an optional key prefix."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket, self.prefix, self._c = bucket, prefix.strip("/"), client

    def _k(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def writer(self, key: str) -> BlobWriter:
        return _S3Writer(self._c, self.bucket, self._k(key))

    def put_file(self, key: str, source: Path) -> None:
        self._c.upload_file(str(source), self.bucket, self._k(key))

    def put_bytes(self, key: str, data: bytes) -> None:
        self._c.put_object(Bucket=self.bucket, Key=self._k(key), Body=data)

    def get_file(self, key: str, dest: Path) -> None:
        try:
            self._c.download_file(self.bucket, self._k(key), str(dest))
        except self._c.exceptions.ClientError as exc:
            raise BlobNotFound(key) from exc

    def _get(self, key: str, start: int, end: int | None) -> Any:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self._k(key)}
        if start or end is not None:
            kwargs["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            return self._c.get_object(**kwargs)
        except self._c.exceptions.NoSuchKey as exc:
            raise BlobNotFound(key) from exc

    def read_bytes(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        data: bytes = self._get(key, start, end)["Body"].read()
        return data

    def iter_chunks(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20
    ) -> Iterator[bytes]:
        body = self._get(key, start, end)["Body"]
        yield from body.iter_chunks(chunk_size)

    def size(self, key: str) -> int:
        try:
            head = self._c.head_object(Bucket=self.bucket, Key=self._k(key))
        except self._c.exceptions.ClientError as exc:
            raise BlobNotFound(key) from exc
        return int(head["ContentLength"])

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except BlobNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        self._c.delete_object(Bucket=self.bucket, Key=self._k(key))

    def delete_prefix(self, prefix: str) -> int:
        keys = list(self.list_keys(prefix))
        for i in range(0, len(keys), 1000):
            batch = [{"Key": self._k(k)} for k in keys[i : i + 1000]]
            self._c.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})
        return len(keys)

    def list_keys(self, prefix: str) -> Iterator[str]:
        # "" lists every key under the configured prefix (backups).
        full = self._k(prefix.rstrip("/")) if prefix else (f"{self.prefix}/" if self.prefix else "")
        strip = len(self.prefix) + 1 if self.prefix else 0
        paginator = self._c.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
            for obj in page.get("Contents", []):
                yield obj["Key"][strip:]

    # BlobStorage's signature: no key of an S3 store is a local file.
    def local_path(self, key: str) -> Path | None:  # noqa: ARG002
        return None

    def check(self) -> None:
        self._c.head_bucket(Bucket=self.bucket)

    def sweep_temporary(self, max_age_seconds: float) -> Swept:
        """Abort multipart uploads (a writer's parts, invisible but stored and billed) that
        neither started nor received a part within ``max_age_seconds``."""
        cutoff = datetime.now(UTC).timestamp() - max_age_seconds
        items = size = 0
        paginator = self._c.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for upload in page.get("Uploads", []):
                parts = self._parts(upload["Key"], upload["UploadId"])
                last = max(
                    [upload["Initiated"].timestamp()]
                    + [p["LastModified"].timestamp() for p in parts]
                )
                if last > cutoff:
                    continue
                self._c.abort_multipart_upload(
                    Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
                items, size = items + 1, size + sum(int(p["Size"]) for p in parts)
        return Swept(items, size)

    def _parts(self, key: str, upload_id: str) -> list[dict[str, Any]]:
        paginator = self._c.get_paginator("list_parts")
        return [
            part
            for page in paginator.paginate(Bucket=self.bucket, Key=key, UploadId=upload_id)
            for part in page.get("Parts", [])
        ]


def create_storage(
    url: str,
    *,
    endpoint_url: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    region: str = "us-east-1",
) -> BlobStorage:
    """``file:///abs/dir`` or ``s3://bucket/prefix``."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalStorage(Path(parsed.netloc + parsed.path))
    if parsed.scheme == "s3":
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region,
            config=Config(connect_timeout=3, read_timeout=30, retries={"max_attempts": 3}),
        )
        return S3Storage(parsed.netloc, parsed.path, client)
    raise StorageError(f"unsupported storage URL scheme {parsed.scheme!r}; use file:// or s3://")
