"""Dataset routes: upload (raw or multipart, streamed), list, read, delete."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.auth.deps import CurrentPrincipal
from spatialviz.dataset import service
from spatialviz.dataset.schemas import DatasetOut
from spatialviz.job.endpoints import JobServiceDep
from spatialviz.job.schemas import JobRead
from spatialviz.kit.deps import ResourcesDep, SessionDep
from spatialviz.kit.errors import PayloadTooLarge, problem_responses
from spatialviz.kit.pagination import CursorQuery, LimitQuery, Page, decode_cursor, encode_cursor
from spatialviz.models.dataset import Dataset

router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])


class DatasetAccepted(BaseModel):
    dataset: DatasetOut
    job: JobRead


async def _described(session: AsyncSession, datasets: list[Dataset]) -> list[DatasetOut]:
    scenes = await service.scene_ids_of(session, datasets)
    return [
        DatasetOut.model_validate(d).model_copy(update={"scene_ids": scenes[d.id]})
        for d in datasets
    ]


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload a file (raw body or multipart) and start its ingest",
    responses=problem_responses(401, 403, 404, 413, 415, 422, 429),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            }
        }
    },
)
async def upload_dataset(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    resources: ResourcesDep,
    jobs: JobServiceDep,
    workspace_id: Annotated[uuid.UUID, Query()],
    filename: Annotated[str | None, Query(max_length=1000)] = None,
    columns: Annotated[str | None, Query(max_length=2000)] = None,
) -> DatasetAccepted:
    limit = resources.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The upload exceeds the limit of {limit} bytes.")
    dataset = await service.receive_upload(
        session,
        resources.storage,
        principal,
        workspace_id=workspace_id,
        filename=filename,
        chunks=request.stream(),
        content_type=request.headers.get("content-type"),
        max_bytes=limit,
        columns=service.parse_columns_metadata(columns),
    )
    job = await service.start_ingest(jobs, dataset)
    return DatasetAccepted(
        dataset=DatasetOut.model_validate(dataset), job=JobRead.model_validate(job)
    )


@router.get(
    "",
    summary="Datasets the caller can read, newest first",
    responses=problem_responses(401, 422, 429),
)
async def list_datasets(
    principal: CurrentPrincipal,
    session: SessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    workspace_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page[DatasetOut]:
    items = await service.list_datasets(
        session, principal, workspace_id=workspace_id, after=decode_cursor(cursor), limit=limit
    )
    next_cursor = encode_cursor(items[-1].created_at, items[-1].id) if len(items) == limit else None
    return Page[DatasetOut](
        items=await _described(session, items),
        next_cursor=next_cursor,
    )


@router.get(
    "/{dataset_id}",
    summary="A dataset: status, format, schema, stats",
    responses=problem_responses(401, 404, 429),
)
async def get_dataset(
    dataset_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> DatasetOut:
    dataset = await service.get_dataset(session, principal, dataset_id)
    [described] = await _described(session, [dataset])
    return described


@router.delete(
    "/{dataset_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a dataset, its files and its scenes",
    responses=problem_responses(401, 403, 404, 429),
)
async def delete_dataset(
    dataset_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    resources: ResourcesDep,
) -> Response:
    await service.delete_dataset(session, resources.storage, principal, dataset_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
