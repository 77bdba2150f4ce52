"""tus 1.0 at /api/v1/uploads: OPTIONS, POST (creation), HEAD, PATCH, DELETE (termination).

JS (tus-js-client), Swift (TUSKit) and Python (tuspy) clients speak this. The response to
the PATCH that completes an upload carries ``Spatialviz-Dataset-Id`` and
``Spatialviz-Job-Id``; a HEAD of a completed upload carries the dataset id too.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from email.utils import format_datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status

from spatialviz.auth.deps import CurrentPrincipal
from spatialviz.dataset import tus, uploads
from spatialviz.job.endpoints import JobServiceDep
from spatialviz.kit.deps import ResourcesDep, SessionDep
from spatialviz.kit.errors import problem_responses

router = APIRouter(prefix="/api/v1/uploads", tags=["uploads"])

TUS_RESPONSES = problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 429)


def _headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": tus.TUS_VERSION, "Cache-Control": "no-store", **extra}


@router.options("", summary="tus capabilities", status_code=204)
async def options(resources: ResourcesDep) -> Response:
    return Response(
        status_code=204,
        headers=_headers(
            **{
                "Tus-Version": tus.TUS_VERSION,
                "Tus-Extension": tus.TUS_EXTENSIONS,
                "Tus-Max-Size": str(resources.settings.max_upload_bytes),
                "Tus-Checksum-Algorithm": ",".join(tus.CHECKSUM_ALGORITHMS),
            }
        ),
    )


@router.post("", summary="Create a resumable upload", status_code=201, responses=TUS_RESPONSES)
async def create(
    principal: CurrentPrincipal,
    session: SessionDep,
    resources: ResourcesDep,
    tus_resumable: Annotated[str | None, Header()] = None,
    upload_length: Annotated[str | None, Header()] = None,
    upload_metadata: Annotated[str | None, Header(max_length=tus.MAX_METADATA_BYTES)] = None,
) -> Response:
    tus.require_version(tus_resumable)
    settings = resources.settings
    upload = await uploads.create_upload(
        session,
        principal,
        length=tus.parse_length(upload_length, settings.max_upload_bytes),
        metadata=tus.parse_metadata(upload_metadata),
        expiry_seconds=settings.upload_expiry_seconds,
    )
    return Response(
        status_code=201,
        headers=_headers(
            Location=f"/api/v1/uploads/{upload.id}",
            **{"Upload-Expires": _http_date(upload.expires_at), "Upload-Offset": "0"},
        ),
    )


@router.head("/{upload_id}", summary="Where to resume", responses=TUS_RESPONSES)
async def head(
    upload_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    tus_resumable: Annotated[str | None, Header()] = None,
) -> Response:
    upload = await uploads.get_upload(session, principal, upload_id)
    tus.require_version(tus_resumable)
    extra = {"Spatialviz-Dataset-Id": str(upload.dataset_id)} if upload.dataset_id else {}
    return Response(
        status_code=200,
        headers=_headers(
            **{
                "Upload-Offset": str(upload.offset),
                "Upload-Length": str(upload.length),
                "Upload-Expires": _http_date(upload.expires_at),
            },
            **extra,
        ),
    )


@router.patch("/{upload_id}", summary="Append bytes at Upload-Offset", responses=TUS_RESPONSES)
async def patch(
    upload_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    resources: ResourcesDep,
    jobs: JobServiceDep,
    tus_resumable: Annotated[str | None, Header()] = None,
    upload_offset: Annotated[str | None, Header()] = None,
    upload_checksum: Annotated[str | None, Header()] = None,
    content_type: Annotated[str | None, Header()] = None,
) -> Response:
    upload, finished = await uploads.append(
        session,
        resources.storage,
        jobs,
        principal,
        upload_id,
        headers=tus.PatchHeaders(tus_resumable, content_type, upload_offset, upload_checksum),
        chunks=request.stream(),
    )
    extra: dict[str, str] = {}
    if finished is not None:
        extra = {
            "Spatialviz-Dataset-Id": str(finished.dataset.id),
            "Spatialviz-Job-Id": str(finished.job.id),
        }
    return Response(
        status_code=204,
        headers=_headers(
            **{
                "Upload-Offset": str(upload.offset),
                "Upload-Expires": _http_date(upload.expires_at),
            },
            **extra,
        ),
    )


@router.delete(
    "/{upload_id}", summary="Abandon an upload", status_code=204, responses=TUS_RESPONSES
)
async def delete(
    upload_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    resources: ResourcesDep,
    tus_resumable: Annotated[str | None, Header()] = None,
) -> Response:
    await uploads.terminate(
        session, resources.storage, principal, upload_id, tus_resumable=tus_resumable
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=_headers())


def _http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)
