"""Resumable uploads (tus 1.0): each PATCH stores one part blob; the last one assembles the
parts into the dataset's source blob and starts ingest. Expired uploads are swept."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import anyio
import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from spatialviz.dataset import service, sniff, tus
from spatialviz.dataset.exceptions import UploadNotFound
from spatialviz.dataset.repository import UploadRepository
from spatialviz.dataset.streaming import SNIFF_BYTES, StreamedBlob
from spatialviz.job.service import JobService
from spatialviz.kit.backup_lease import delete_after_commit
from spatialviz.kit.db import on_rollback, transaction, utcnow
from spatialviz.kit.resources import Resources
from spatialviz.kit.storage import BlobStorage
from spatialviz.kit.tenancy import Principal, require_role
from spatialviz.models.dataset import Dataset, DatasetStatus
from spatialviz.models.job import Job
from spatialviz.models.upload import Upload
from spatialviz.models.workspace import Role

COPY_CHUNK = 8 << 20
log = structlog.get_logger(__name__)


def parts_prefix(upload_id: uuid.UUID) -> str:
    return f"uploads/{upload_id}"


def part_key(upload_id: uuid.UUID, offset: int) -> str:
    return f"{parts_prefix(upload_id)}/{offset:020d}"


@dataclass
class Finished:
    dataset: Dataset
    job: Job


async def create_upload(
    session: AsyncSession,
    principal: Principal,
    *,
    length: int,
    metadata: dict[str, str],
    expiry_seconds: int,
) -> Upload:
    raw_ws = metadata.get("workspace_id")
    if not raw_ws:
        raise tus.TusError(
            "Upload-Metadata must name workspace_id.",
            status=422,
            code="tus_missing_workspace",
            title="Unprocessable content",
        )
    try:
        workspace_id = uuid.UUID(raw_ws)
    except ValueError:
        raise tus.TusError(
            "workspace_id in Upload-Metadata is not a UUID.",
            status=422,
            code="tus_bad_workspace",
            title="Unprocessable content",
        ) from None
    require_role(principal, workspace_id, Role.editor)
    label = sniff.dataset_label(metadata.get("filename") or metadata.get("name"))
    if length == 0:
        sniff.refuse_archive_or_empty(0, b"")
    upload = Upload(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        created_by_id=principal.user_id,
        length=length,
        offset=0,
        filename=label,
        meta={k: v for k, v in metadata.items() if k in ("columns", "filetype")},
        parts=[],
        expires_at=utcnow() + timedelta(seconds=expiry_seconds),
    )
    return await UploadRepository(session).add(upload)


async def get_upload(session: AsyncSession, principal: Principal, upload_id: uuid.UUID) -> Upload:
    upload = await UploadRepository(session).get(principal, upload_id)
    if upload is None or (upload.dataset_id is None and upload.expires_at < utcnow()):
        raise UploadNotFound("Upload not found or expired.")
    return upload


async def append(
    session: AsyncSession,
    storage: BlobStorage,
    jobs: JobService,
    principal: Principal,
    upload_id: uuid.UUID,
    *,
    headers: tus.PatchHeaders,
    chunks: AsyncIterator[bytes],
) -> tuple[Upload, Finished | None]:
    repo = UploadRepository(session)
    upload = await repo.get_for_write(principal, upload_id)
    if upload is None or upload.expires_at < utcnow():
        raise UploadNotFound("Upload not found or expired.")
    offset, checksum = headers.parse()
    if upload.dataset_id is not None:
        raise tus.TusError(
            "This upload is complete.", status=409, code="tus_complete", title="Conflict"
        )
    if upload.offset != offset:
        raise tus.TusError(
            f"Upload-Offset {offset} does not match the server's offset {upload.offset}.",
            status=409,
            code="tus_offset_mismatch",
            title="Conflict",
        )
    key = part_key(upload.id, offset)
    received = await _receive_part(storage, key, chunks, checksum, upload.length - offset)
    if received == 0:
        return upload, None

    async def drop_part() -> None:
        await anyio.to_thread.run_sync(storage.delete, key)

    on_rollback(session, drop_part)
    if not await repo.advance(upload, offset, offset + received):
        raise tus.TusError(
            "Another request appended to this upload at the same offset.",
            status=409,
            code="tus_offset_mismatch",
            title="Conflict",
        )
    if upload.offset < upload.length:
        return upload, None
    return upload, await _finish(session, storage, jobs, upload)


async def _receive_part(
    storage: BlobStorage,
    key: str,
    chunks: AsyncIterator[bytes],
    checksum: tus.ChecksumVerifier,
    remaining: int,
) -> int:
    writer = storage.writer(key)
    size = 0
    buf = bytearray()
    try:
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > remaining:
                    raise tus.TusError(
                        "The PATCH body goes past Upload-Length.",
                        status=413,
                        code="payload_too_large",
                        title="Payload too large",
                    )
                checksum.update(chunk)
                buf += chunk
                if len(buf) >= COPY_CHUNK:
                    await anyio.to_thread.run_sync(writer.write, bytes(buf))
                    buf.clear()
        except ClientDisconnect:
            # tus keeps what arrived so the client resumes from there; with a checksum
            # the partial chunk cannot be verified, so it is dropped.
            if checksum.expected is not None:
                raise
        checksum.verify()
        if buf:
            await anyio.to_thread.run_sync(writer.write, bytes(buf))
        if size:
            await anyio.to_thread.run_sync(writer.commit)
        else:
            await anyio.to_thread.run_sync(writer.abort)
    except BaseException:
        await anyio.to_thread.run_sync(writer.abort)
        raise
    return size


async def _finish(
    session: AsyncSession, storage: BlobStorage, jobs: JobService, upload: Upload
) -> Finished:
    dataset = Dataset(
        id=uuid.uuid4(),
        workspace_id=upload.workspace_id,
        created_by_id=upload.created_by_id,
        name=upload.filename,
        status=DatasetStatus.uploaded,
        columns_override=service.parse_columns_metadata(upload.meta.get("columns")),
    )
    key = service.source_key(dataset)
    blob = await anyio.to_thread.run_sync(_assemble, storage, upload, key)
    try:
        sniff.refuse_archive_or_empty(blob.size, blob.head)
    except BaseException:
        await anyio.to_thread.run_sync(storage.delete, key)
        raise
    await service.record_received(session, storage, dataset, blob, key)
    upload.dataset_id = dataset.id
    job = await service.start_ingest(jobs, dataset)
    prefix = parts_prefix(upload.id)
    # Deferred while a backup runs: its snapshot may still hold the unfinished upload.
    delete_after_commit(session, storage, prefix)
    await session.flush()
    return Finished(dataset, job)


def _assemble(storage: BlobStorage, upload: Upload, key: str) -> StreamedBlob:
    digest = hashlib.sha256()
    head = b""
    size = 0
    writer = storage.writer(key)
    try:
        for offset in sorted(upload.parts):
            for chunk in storage.iter_chunks(part_key(upload.id, offset), chunk_size=COPY_CHUNK):
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                digest.update(chunk)
                size += len(chunk)
                writer.write(chunk)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return StreamedBlob(size, digest.hexdigest(), head, upload.filename)


async def terminate(
    session: AsyncSession,
    storage: BlobStorage,
    principal: Principal,
    upload_id: uuid.UUID,
    *,
    tus_resumable: str | None,
) -> None:
    repo = UploadRepository(session)
    upload = await repo.get_for_write(principal, upload_id)
    if upload is None or upload.dataset_id is not None:
        raise UploadNotFound("Upload not found.")
    tus.require_version(tus_resumable)
    await repo.remove(upload.id)
    prefix = parts_prefix(upload.id)
    # Deferred while a backup runs: its snapshot may still hold these rows.
    delete_after_commit(session, storage, prefix)


async def sweep_expired(session: AsyncSession, storage: BlobStorage) -> int:
    """Delete uploads nobody finished before they expired, and their parts."""
    repo = UploadRepository(session)
    expired = await repo.expired(utcnow())
    for upload in expired:
        await repo.remove(upload.id)
        await anyio.to_thread.run_sync(storage.delete_prefix, parts_prefix(upload.id))
    return len(expired)


async def sweep_uploads_forever(resources: Resources, interval_seconds: float = 600.0) -> None:
    """Every few minutes, delete expired uploads; errors are logged, never fatal."""
    while True:
        try:
            async with transaction(resources.sessions) as session:
                swept = await sweep_expired(session, resources.storage)
            if swept:
                log.info("uploads_expired", count=swept)
        except Exception:
            log.exception("upload_sweep_failed")
        await asyncio.sleep(interval_seconds)
