"""Dataset logic: receive uploads, list, read and delete datasets. No FastAPI imports; never
commits (the request or task owns the transaction)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import cast

import anyio
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.audit.service import record_audit
from spatialviz.dataset import sniff
from spatialviz.dataset.exceptions import DatasetNotFound
from spatialviz.dataset.records import IngestResult, crs_of, schema_of, stats_of
from spatialviz.dataset.repository import DatasetRepository
from spatialviz.dataset.schemas import ColumnOverride
from spatialviz.dataset.streaming import StreamedBlob, stream_multipart, stream_raw
from spatialviz.formats.errors import ERROR_CODES
from spatialviz.job.service import JobService
from spatialviz.kit.backup_lease import delete_after_commit
from spatialviz.kit.db import on_rollback
from spatialviz.kit.errors import UnprocessableEntity
from spatialviz.kit.storage import BlobStorage
from spatialviz.kit.tenancy import Principal, require_role
from spatialviz.models.dataset import ColumnOverrideJson, Dataset, DatasetStatus
from spatialviz.models.job import Job, JobStatus
from spatialviz.models.workspace import Role

INGEST_KIND = "dataset.ingest"


def source_key(dataset: Dataset) -> str:
    return f"workspaces/{dataset.workspace_id}/datasets/{dataset.id}/source"


def canonical_key(dataset: Dataset) -> str:
    return f"workspaces/{dataset.workspace_id}/datasets/{dataset.id}/canonical.parquet"


def dataset_prefix(dataset: Dataset) -> str:
    return f"workspaces/{dataset.workspace_id}/datasets/{dataset.id}"


async def receive_upload(
    session: AsyncSession,
    storage: BlobStorage,
    principal: Principal,
    *,
    workspace_id: uuid.UUID,
    filename: str | None,
    chunks: AsyncIterator[bytes],
    content_type: str | None,
    max_bytes: int,
    columns: ColumnOverrideJson | None = None,
) -> Dataset:
    """Stream a request body into storage and record the dataset. If anything fails, the
    blob is deleted and no row remains."""
    require_role(principal, workspace_id, Role.editor)
    label = sniff.dataset_label(filename)
    dataset = Dataset(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        created_by_id=principal.user_id,
        name=label,
        status=DatasetStatus.uploaded,
        columns_override=columns,
    )
    key = source_key(dataset)
    writer = storage.writer(key)
    try:
        if content_type and content_type.startswith("multipart/form-data"):
            blob = await stream_multipart(chunks, content_type, writer, max_bytes)
        else:
            blob = await stream_raw(chunks, writer, max_bytes)
        _check_received(blob)
    except BaseException:
        await anyio.to_thread.run_sync(writer.abort)
        raise
    if blob.filename and filename is None:
        dataset.name = sniff.dataset_label(blob.filename)
    await anyio.to_thread.run_sync(writer.commit)
    return await record_received(session, storage, dataset, blob, key)


def _check_received(blob: StreamedBlob) -> None:
    sniff.refuse_archive_or_empty(blob.size, blob.head)


async def record_received(
    session: AsyncSession, storage: BlobStorage, dataset: Dataset, blob: StreamedBlob, key: str
) -> Dataset:
    async def delete_blob() -> None:
        await anyio.to_thread.run_sync(storage.delete, key)

    on_rollback(session, delete_blob)
    dataset.size_bytes = blob.size
    dataset.sha256 = blob.sha256
    dataset.source_key = key
    session.add(dataset)
    await session.flush()
    return dataset


async def get_dataset(
    session: AsyncSession, principal: Principal, dataset_id: uuid.UUID, at_least: Role = Role.viewer
) -> Dataset:
    dataset = await DatasetRepository(session).get(principal, dataset_id, at_least)
    if dataset is None:
        raise DatasetNotFound("Dataset not found.")
    return dataset


async def list_datasets(
    session: AsyncSession,
    principal: Principal,
    *,
    workspace_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Dataset]:
    return list(
        await DatasetRepository(session).page(
            principal, workspace_id=workspace_id, after=after, limit=limit
        )
    )


async def delete_dataset(
    session: AsyncSession, storage: BlobStorage, principal: Principal, dataset_id: uuid.UUID
) -> Dataset:
    """Owners and editors may delete; blobs go once the row's deletion has committed."""
    dataset = await get_dataset(session, principal, dataset_id)
    require_role(principal, dataset.workspace_id, Role.editor)
    prefix = dataset_prefix(dataset)
    await record_audit(
        session,
        workspace_id=dataset.workspace_id,
        actor_id=principal.user_id,
        api_key_id=principal.api_key_id,
        action="dataset.deleted",
        target_type="dataset",
        target_id=dataset.id,
        details={"name": dataset.name},
    )
    await DatasetRepository(session).remove(dataset)
    # Deferred while a backup runs: its snapshot may still hold these rows.
    delete_after_commit(session, storage, prefix)
    return dataset


async def start_ingest(jobs: JobService, dataset: Dataset) -> Job:
    """Record the ingest job in the caller's transaction; it is sent once that commits."""
    dataset.status = DatasetStatus.ingesting
    job = await jobs.create(
        workspace_id=dataset.workspace_id,
        kind=INGEST_KIND,
        dataset_id=dataset.id,
        params={
            "source_key": dataset.source_key,
            "canonical_key": canonical_key(dataset),
            "columns": dataset.columns_override,
            "filename": dataset.name,
        },
        idempotency_key=f"ingest:{dataset.id}",
    )
    dataset.ingest_job_id = job.id
    return job


async def apply_ingest_outcome(session: AsyncSession, job: Job) -> None:
    """Runs in the transaction that finishes an ingest job: the dataset becomes ready with
    its schema and stats, or failed with the job's reason. A file the readers refused was
    already deleted by the task, so a refused upload leaves no blob behind."""
    if job.dataset_id is None:
        return
    dataset = await DatasetRepository(session).get_unscoped(job.dataset_id)
    if dataset is None:
        return
    if job.status == JobStatus.succeeded and job.result:
        result = cast(IngestResult, job.result)
        dataset.status = DatasetStatus.ready
        dataset.format = result.get("format")
        dataset.row_count = result.get("rows")
        dataset.canonical_key = result.get("canonical_key")
        dataset.schema_info = schema_of(result)
        dataset.stats = stats_of(result)
        dataset.crs = crs_of(result)
        dataset.error_code = dataset.error_message = None
    elif job.status in (JobStatus.failed, JobStatus.cancelled):
        dataset.status = DatasetStatus.failed
        dataset.error_code = job.error_code or job.status.value
        dataset.error_message = job.error_message or f"The ingest job was {job.status.value}."
        if job.error_code in ERROR_CODES:
            dataset.source_key = None
    await session.flush()


def parse_columns_metadata(raw: str | None) -> ColumnOverrideJson | None:
    """The ``columns`` upload metadata: JSON naming the x/y/z source columns."""
    if not raw:
        return None
    try:
        override = ColumnOverride.model_validate(json.loads(raw))
        return {"x": override.x, "y": override.y, "z": override.z}
    except (ValueError, ValidationError):
        raise UnprocessableEntity(
            'columns must be JSON like {"x": "lon", "y": "lat", "z": "alt"}',
            code="bad_columns",
        ) from None


async def scene_ids_of(
    session: AsyncSession, datasets: list[Dataset]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    return await DatasetRepository(session).scene_ids([d.id for d in datasets])
