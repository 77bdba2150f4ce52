"""Scene routes: create/read/change/delete, tileset delivery, share links, queries, exports."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Body, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import iterate_in_threadpool

from spatialviz.auth import grants
from spatialviz.auth.deps import CurrentPrincipal
from spatialviz.blobhttp import headers as http
from spatialviz.config import Settings
from spatialviz.job.endpoints import JobServiceDep
from spatialviz.job.schemas import JobRead
from spatialviz.kit.deps import ResourcesDep, SessionDep
from spatialviz.kit.errors import problem_response, problem_responses
from spatialviz.kit.openapi import blob_responses
from spatialviz.kit.pagination import CursorQuery, LimitQuery, Page, decode_cursor, encode_cursor
from spatialviz.kit.storage import BlobNotFound, BlobStorage, StorageError
from spatialviz.kit.tenancy import Principal
from spatialviz.models.dataset import Dataset
from spatialviz.models.job import Job
from spatialviz.models.scene import Scene, ShareLink
from spatialviz.scene import delivery, exports, queries, service, sharing
from spatialviz.scene.auth import SceneReadable, SceneTilesReadable
from spatialviz.scene.delivery import (
    TILESET,
    BlobTarget,
    blob_headers,
    etag_of,
    safe_tile_path,
    scene_blob,
    x_accel_headers,
)
from spatialviz.scene.exceptions import TileNotFound
from spatialviz.scene.schemas import (
    ExportAccepted,
    SceneAccepted,
    SceneCreate,
    SceneOut,
    SceneQuery,
    SceneUpdate,
    ShareLinkCreate,
    ShareLinkOut,
)
from spatialviz.signing.signatures import Grant
from spatialviz.styling.encoding import ResolvedEncoding

router = APIRouter(prefix="/api/v1/scenes", tags=["scenes"])


#: What a response's tileset URL is signed from: the grant and when it ends by itself (None:
#: the caller has no live grant, so the response carries no URL).
Signer = tuple[Grant, int | None] | None


def scene_out(
    scene: Scene,
    dataset: Dataset,
    job: Job | None,
    settings: Settings,
    *,
    signer: Signer,
) -> SceneOut:
    resolved = ResolvedEncoding.model_validate(scene.resolved)
    return SceneOut(
        id=scene.id,
        dataset_id=scene.dataset_id,
        workspace_id=scene.workspace_id,
        name=scene.name,
        status=service.effective_status(scene, job),
        encoding=scene.encoding,
        resolved_encoding=resolved,
        job_id=scene.job_id,
        error_code=scene.error_code,
        error_message=scene.error_message,
        axes=service.axes_of(dataset, resolved) if resolved.chart_box is not None else None,
        attributes=service.attributes_of(dataset),
        tileset_url=(
            delivery.tileset_url(scene, settings, signer[0], grant_until=signer[1])
            if signer is not None
            else None
        ),
        tileset_version=scene.tileset_version,
        frame="chart" if resolved.chart_box is not None else "dataset",
        created_at=scene.created_at,
        updated_at=scene.updated_at,
    )


async def _scene_out(
    session: SessionDep, scene: Scene, settings: Settings, signer: Signer
) -> SceneOut:
    dataset = await service.dataset_of(session, scene)
    job = await service.current_job(session, scene)
    return scene_out(scene, dataset, job, settings, signer=signer)


async def _signer(session: SessionDep, principal: Principal, workspace_id: uuid.UUID) -> Signer:
    return await grants.grant_for_principal(session, principal, workspace_id)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Create a scene of a ready dataset and start tiling it",
    responses=problem_responses(401, 403, 404, 409, 422, 429),
)
async def create_scene(
    body: SceneCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    resources: ResourcesDep,
    jobs: JobServiceDep,
) -> SceneAccepted:
    scene, job = await service.create_scene(
        session,
        jobs,
        principal,
        dataset_id=body.dataset_id,
        encoding=body.encoding,
        name=body.name,
    )
    signer = await _signer(session, principal, scene.workspace_id)
    out = await _scene_out(session, scene, resources.settings, signer)
    return SceneAccepted(scene=out, job=JobRead.model_validate(job))


@router.get(
    "",
    summary="Scenes the caller can read, newest first",
    responses=problem_responses(401, 422, 429),
)
async def list_scenes(
    principal: CurrentPrincipal,
    session: SessionDep,
    resources: ResourcesDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    dataset_id: Annotated[uuid.UUID | None, Query()] = None,
    workspace_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page[SceneOut]:
    items = await service.list_scenes(
        session,
        principal,
        dataset_id=dataset_id,
        workspace_id=workspace_id,
        after=decode_cursor(cursor),
        limit=limit,
    )
    next_cursor = encode_cursor(items[-1].created_at, items[-1].id) if len(items) == limit else None
    signers: dict[uuid.UUID, Signer] = {}
    for ws in {s.workspace_id for s in items}:
        signers[ws] = await _signer(session, principal, ws)
    datasets, jobs = await service.datasets_and_jobs(session, items)
    out = [
        scene_out(
            s,
            datasets[s.dataset_id],
            jobs.get(s.job_id) if s.job_id is not None else None,
            resources.settings,
            signer=signers[s.workspace_id],
        )
        for s in items
        if s.dataset_id in datasets  # a dataset deleted meanwhile takes its scenes along
    ]
    return Page[SceneOut](items=out, next_cursor=next_cursor)


@router.get(
    "/{scene_id}",
    summary="A scene (bearer credential or ?share= token; a tile signature is not enough)",
    responses=problem_responses(401, 403, 404, 429),
)
async def get_scene(
    access: SceneReadable, session: SessionDep, resources: ResourcesDep
) -> SceneOut:
    scene = await service.get_scene_unscoped(session, access.entry.scene_id)
    signer: Signer = None
    if access.share_grant is not None:
        signer = (access.share_grant, access.share_until)
    elif access.principal is not None:
        signer = await _signer(session, access.principal, scene.workspace_id)
    return await _scene_out(session, scene, resources.settings, signer)


@router.patch(
    "/{scene_id}",
    summary="Rename or re-encode; only position/filter changes start a new tiling job",
    responses=problem_responses(401, 403, 404, 409, 422, 429),
)
async def update_scene(
    scene_id: uuid.UUID,
    body: SceneUpdate,
    principal: CurrentPrincipal,
    session: SessionDep,
    resources: ResourcesDep,
    jobs: JobServiceDep,
) -> SceneAccepted:
    scene, job = await service.update_scene(
        session,
        jobs,
        resources.cache,
        principal,
        scene_id,
        name=body.name,
        encoding=body.encoding,
        encoding_given="encoding" in body.model_fields_set,
    )
    signer = await _signer(session, principal, scene.workspace_id)
    out = await _scene_out(session, scene, resources.settings, signer)
    return SceneAccepted(scene=out, job=JobRead.model_validate(job) if job else None)


@router.delete(
    "/{scene_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a scene and its tiles",
    responses=problem_responses(401, 403, 404, 429),
)
async def delete_scene(
    scene_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, resources: ResourcesDep
) -> Response:
    await service.delete_scene(session, resources.storage, resources.cache, principal, scene_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- delivery ------------------------------------------------------------------------------


def _range_not_satisfiable(size: int, request: Request) -> JSONResponse:
    return problem_response(
        416,
        "Range not satisfiable",
        f"The resource has {size} bytes.",
        code="range_not_satisfiable",
        instance=request.url.path,
        headers={"Content-Range": f"bytes */{size}"},
    )


async def serve_blob(
    request: Request,
    storage: BlobStorage,
    settings: Settings,
    target: BlobTarget,
    *,
    extra_headers: dict[str, str] | None = None,
) -> Response:
    """ETag/304, X-Accel-Redirect for nginx, else single byte ranges streamed in a thread."""
    key = target.key
    headers = blob_headers(target, extra_headers)
    if settings.x_accel_prefix and storage.local_path(key) is not None:
        # No storage call: nginx finds (or 404s) the file itself, and answers
        # If-None-Match against its own ETag; ours is honoured here as well.
        if http.evaluate_conditional(request.headers.get("if-none-match"), target.etag):
            return Response(status_code=304, headers=headers)
        headers = x_accel_headers(headers, settings.x_accel_prefix, key)
        return Response(status_code=200, headers=headers, media_type=target.content_type)
    try:
        size = await anyio.to_thread.run_sync(storage.size, key)
    except (BlobNotFound, StorageError):
        raise TileNotFound("No such file.") from None
    if http.evaluate_conditional(request.headers.get("if-none-match"), target.etag):
        return Response(status_code=304, headers=headers)
    try:
        byte_range = http.parse_range(request.headers.get("range"), size)
    except http.RangeNotSatisfiable as exc:
        return _range_not_satisfiable(exc.size, request)
    start, end, code = 0, size - 1, 200
    if byte_range is not None:
        start, end = byte_range
        code = 206
        headers["Content-Range"] = http.content_range(start, end, size)
    headers["Content-Length"] = str(end - start + 1)
    chunks = iterate_in_threadpool(storage.iter_chunks(key, start, end + 1))
    return StreamingResponse(
        chunks, status_code=code, headers=headers, media_type=target.content_type
    )


_DELIVERY_ERRORS = problem_responses(401, 403, 404, 409, 416, 429)
_EXPORT_SUFFIXES = (".glb", ".usdz", ".3tz")
_TILE_TYPES = sorted(
    {t for suffix, t in http.CONTENT_TYPES.items() if suffix not in {".usdz", ".3tz"}}
    | {http.DEFAULT_CONTENT_TYPE}
)


@router.get(
    "/{scene_id}/tileset.json",
    summary="The scene's 3D Tiles 1.1 tileset (signed URL, share token or bearer)",
    responses={**_DELIVERY_ERRORS, **blob_responses("application/json")},
    response_class=Response,
)
async def get_tileset(
    request: Request, access: SceneTilesReadable, resources: ResourcesDep
) -> Response:
    target = scene_blob(access.entry, TILESET)
    return await serve_blob(request, resources.storage, resources.settings, target)


@router.get(
    "/{scene_id}/tiles/{path:path}",
    summary="One tile (GLB) or external tileset JSON; immutable",
    responses={**_DELIVERY_ERRORS, **blob_responses(*_TILE_TYPES)},
    response_class=Response,
)
async def get_tile(
    path: str, request: Request, access: SceneTilesReadable, resources: ResourcesDep
) -> Response:
    target = scene_blob(access.entry, f"tiles/{safe_tile_path(path)}")
    return await serve_blob(request, resources.storage, resources.settings, target)


# --- share links ---------------------------------------------------------------------------


def _link_out(link: ShareLink, url: str | None) -> ShareLinkOut:
    return ShareLinkOut(
        id=link.id,
        scene_id=link.scene_id,
        url=url,
        expires_at=sharing.share_expiry(link),
        revoked_at=link.revoked_at,
        created_at=link.created_at,
    )


@router.post(
    "/{scene_id}/share-links",
    status_code=status.HTTP_201_CREATED,
    summary="A signed, expiring, revocable read-only link to the scene",
    responses=problem_responses(401, 403, 404, 422, 429),
)
async def create_share_link(
    request: Request,
    scene_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    resources: ResourcesDep,
    body: Annotated[ShareLinkCreate | None, Body()] = None,
) -> ShareLinkOut:
    link = await sharing.create_share_link(
        session,
        resources.settings,
        principal,
        scene_id,
        expires_in_seconds=body.expires_in_seconds if body else None,
    )
    # request.base_url: the Host header, and the scheme uvicorn took from X-Forwarded-Proto
    # only when the peer is a trusted proxy (kit/proxies.py).
    return _link_out(link, sharing.share_url(resources.settings, link, str(request.base_url)))


@router.get(
    "/{scene_id}/share-links",
    summary="The scene's share links (editors)",
    responses=problem_responses(401, 403, 404, 429),
)
async def list_share_links(
    scene_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> list[ShareLinkOut]:
    links = await sharing.list_share_links(session, principal, scene_id)
    return [_link_out(link, None) for link in links]


@router.delete(
    "/{scene_id}/share-links/{link_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a share link (and every tile URL minted through it)",
    responses=problem_responses(401, 403, 404, 429),
)
async def revoke_share_link(
    scene_id: uuid.UUID,
    link_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    resources: ResourcesDep,
) -> Response:
    await sharing.revoke_share_link(session, resources.cache, principal, scene_id, link_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- queries -------------------------------------------------------------------------------


@router.post(
    "/{scene_id}/query",
    summary="Pick a row, or query a box (dataset or scene frame), sphere or nearest "
    "neighbours (dataset frame); "
    "bearer credential or share token, not a tile signature",
    responses=problem_responses(401, 403, 404, 409, 422, 429),
)
async def query_scene(
    access: SceneReadable,
    body: Annotated[SceneQuery, Body()],
    session: SessionDep,
    resources: ResourcesDep,
) -> dict[str, Any]:
    scene = await service.get_scene_unscoped(session, access.entry.scene_id)
    dataset = await service.dataset_of(session, scene)
    path = await queries.canonical_path(resources.settings, resources.storage, dataset)
    resolved = ResolvedEncoding.model_validate(scene.resolved)
    return await queries.run(path, body, resources.settings, resolved)


# --- exports -------------------------------------------------------------------------------


@router.get(
    "/{scene_id}/export.{fmt}",
    summary="export.glb | export.usdz | export.3tz: 202 + job while made, then 200 + file",
    responses={
        **problem_responses(401, 403, 404, 409, 416, 429),
        **blob_responses(*(http.CONTENT_TYPES[suffix] for suffix in _EXPORT_SUFFIXES)),
        202: {"model": ExportAccepted, "description": "The export is being made"},
    },
    response_class=Response,
)
async def get_export(
    scene_id: uuid.UUID,
    fmt: str,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    resources: ResourcesDep,
    jobs: JobServiceDep,
) -> Response:
    ready = await exports.request_export(session, jobs, resources.storage, principal, scene_id, fmt)
    if isinstance(ready, Job):
        body = ExportAccepted(job=JobRead.model_validate(ready)).model_dump(mode="json")
        return JSONResponse(body, status_code=202, headers={"Location": f"/api/v1/jobs/{ready.id}"})
    scene, key = ready
    filename = f"{scene.name.rsplit('.', 1)[0] or 'scene'}.{fmt}"
    target = BlobTarget(key, etag_of(key), http.CACHE_PRIVATE, http.content_type_for(key))
    disposition = {"Content-Disposition": http.attachment_disposition(filename)}
    return await serve_blob(
        request, resources.storage, resources.settings, target, extra_headers=disposition
    )
