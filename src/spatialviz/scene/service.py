"""Scenes: create, read, restyle or re-tile, delete, and apply a tiling job's outcome.
Share links live in ``scene.sharing``, signed delivery in ``scene.delivery``, queries in
``scene.queries``, exports in ``scene.exports``. No FastAPI imports; never commits (the
request or the job owns the transaction)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.audit.service import record_audit
from spatialviz.dataset.exceptions import DatasetNotFound
from spatialviz.dataset.repository import DatasetRepository
from spatialviz.formats.canonical import ColumnSchemaJson
from spatialviz.formats.stats import ColumnStatsJson
from spatialviz.job.service import JobService
from spatialviz.kit.backup_lease import delete_after_commit
from spatialviz.kit.cache import Cache
from spatialviz.kit.storage import BlobStorage
from spatialviz.kit.tenancy import Principal, require_role
from spatialviz.models.dataset import Dataset, DatasetStatus
from spatialviz.models.job import Job, JobStatus
from spatialviz.models.scene import Scene, SceneStatus, TilesetInfo
from spatialviz.models.workspace import Role
from spatialviz.scene import delivery
from spatialviz.scene.exceptions import (
    DatasetNotReady,
    InvalidEncoding,
    SceneNotFound,
)
from spatialviz.scene.repository import SceneRepository
from spatialviz.scene.schemas import Attribute
from spatialviz.styling.encoding import (
    ColumnStats,
    EncodingError,
    ResolvedEncoding,
    is_style_only_change,
    type_kind,
    validate_encoding,
)
from spatialviz.styling.transform import ChartAxes, axes_metadata, coded_text_column

TILE_KIND = "scene.tile"


# --- blob keys ---------------------------------------------------------------------------


def scene_prefix(scene: Scene) -> str:
    """Under the dataset's prefix, so deleting a dataset deletes its scenes' blobs too."""
    return f"workspaces/{scene.workspace_id}/datasets/{scene.dataset_id}/scenes/{scene.id}"


def tilesets_prefix(scene: Scene) -> str:
    return f"{scene_prefix(scene)}/tilesets"


# --- reading -----------------------------------------------------------------------------


async def get_scene(
    session: AsyncSession, principal: Principal, scene_id: uuid.UUID, at_least: Role = Role.viewer
) -> Scene:

    scene = await SceneRepository(session).get(principal, scene_id, at_least)
    if scene is None:
        raise SceneNotFound("Scene not found.")
    return scene


async def get_scene_unscoped(session: AsyncSession, scene_id: uuid.UUID) -> Scene:
    """After a share token or signature has proven access."""

    scene = await SceneRepository(session).get_unscoped(scene_id)
    if scene is None:
        raise SceneNotFound("Scene not found.")
    return scene


async def list_scenes(
    session: AsyncSession,
    principal: Principal,
    *,
    dataset_id: uuid.UUID | None,
    workspace_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Scene]:

    return list(
        await SceneRepository(session).page(
            principal, dataset_id=dataset_id, workspace_id=workspace_id, after=after, limit=limit
        )
    )


async def datasets_and_jobs(
    session: AsyncSession, scenes: Sequence[Scene]
) -> tuple[dict[uuid.UUID, Dataset], dict[uuid.UUID, Job]]:
    """What a page of scenes is shown with (their datasets and current jobs), in a constant
    number of statements."""
    return await SceneRepository(session).datasets_and_jobs(scenes)


async def current_job(session: AsyncSession, scene: Scene) -> Job | None:

    return await SceneRepository(session).job_of(scene)


def effective_status(scene: Scene, job: Job | None) -> SceneStatus:
    """``tiling`` while the scene's job runs (the row says queued until the job ends)."""
    if scene.status == SceneStatus.queued and job is not None and job.status == JobStatus.running:
        return SceneStatus.tiling
    return scene.status


def _column_stats(dataset: Dataset) -> dict[str, ColumnStatsJson]:
    # .get: stats stored by an older version may lack the key.
    stats = (dataset.stats.get("columns") if dataset.stats else None) or {}
    return {str(k): v for k, v in stats.items() if isinstance(v, dict)}


def _columns(dataset: Dataset) -> list[ColumnSchemaJson]:
    return list((dataset.schema_info.get("columns") if dataset.schema_info else None) or [])


def attributes_of(dataset: Dataset) -> list[Attribute]:
    """The per-point attributes a client may colour by, with their kind and range."""
    stats = _column_stats(dataset)
    out: list[Attribute] = []
    for column in _columns(dataset):
        name = str(column.get("name"))
        if column.get("role") in ("row_id", "color"):
            continue
        kind = type_kind(str(column.get("type", "")))
        st = stats.get(name)
        attribute = Attribute(
            name=name,
            kind="continuous" if kind in ("numeric", "temporal") else "categorical",
            min=_finite(st.get("min")) if st else None,
            max=_finite(st.get("max")) if st else None,
            unit=column.get("unit"),
        )
        categories = st.get("categories") if st else None
        if st and categories:
            attribute.categories = list(categories)
            if isinstance(st.get("category_counts"), list):
                attribute.category_counts = st.get("category_counts")
                attribute.other_count = st.get("other_count")
        elif kind == "bool":
            attribute.categories = [False, True]
        out.append(attribute)
    return out


def _finite(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def axes_of(dataset: Dataset, resolved: ResolvedEncoding) -> ChartAxes:
    stats = {name: ColumnStats.model_validate(st) for name, st in _column_stats(dataset).items()}
    return axes_metadata(resolved, stats)


# --- creating and changing ---------------------------------------------------------------


def resolve_encoding(dataset: Dataset, encoding: dict[str, Any] | None) -> ResolvedEncoding:
    if dataset.status != DatasetStatus.ready or dataset.canonical_key is None:
        raise DatasetNotReady(f"The dataset is {dataset.status.value}; scenes need a ready one.")
    try:
        return validate_encoding(encoding, _columns(dataset), _column_stats(dataset))
    except EncodingError as exc:
        raise InvalidEncoding(exc.field, exc.message) from None


async def _dataset(session: AsyncSession, principal: Principal, dataset_id: uuid.UUID) -> Dataset:
    dataset = await DatasetRepository(session).get(principal, dataset_id)
    if dataset is None:
        raise DatasetNotFound("Dataset not found.")
    return dataset


async def dataset_of(session: AsyncSession, scene: Scene) -> Dataset:
    dataset = await DatasetRepository(session).get_unscoped(scene.dataset_id)
    if dataset is None:
        raise SceneNotFound("Scene not found.")
    return dataset


async def _start_tiling(jobs: JobService, scene: Scene, dataset: Dataset) -> Job:
    scene.status = SceneStatus.queued
    # Re-tiling ends every tile signature issued for the old tileset.
    scene.signature_generation += 1
    scene.error_code = scene.error_message = None
    job = await jobs.create(
        workspace_id=scene.workspace_id,
        kind=TILE_KIND,
        scene_id=scene.id,
        dataset_id=dataset.id,
        params={
            "canonical_key": dataset.canonical_key,
            "resolved": scene.resolved,
            "tilesets_prefix": tilesets_prefix(scene),
        },
    )
    scene.job_id = job.id
    await jobs.session.flush()
    return job


async def create_scene(
    session: AsyncSession,
    jobs: JobService,
    principal: Principal,
    *,
    dataset_id: uuid.UUID,
    encoding: dict[str, Any] | None,
    name: str | None,
) -> tuple[Scene, Job]:
    """Record a scene and its tiling job (sent once the request commits)."""
    dataset = await _dataset(session, principal, dataset_id)
    require_role(principal, dataset.workspace_id, Role.editor)
    resolved = resolve_encoding(dataset, encoding)
    scene = Scene(
        id=uuid.uuid4(),
        workspace_id=dataset.workspace_id,
        dataset_id=dataset.id,
        created_by_id=principal.user_id,
        name=name or dataset.name,
        status=SceneStatus.queued,
        encoding=encoding or {},
        resolved=resolved.model_dump(mode="json"),
    )
    session.add(scene)
    await session.flush()
    job = await _start_tiling(jobs, scene, dataset)
    return scene, job


async def update_scene(
    session: AsyncSession,
    jobs: JobService,
    cache: Cache,
    principal: Principal,
    scene_id: uuid.UUID,
    *,
    name: str | None,
    encoding: dict[str, Any] | None,
    encoding_given: bool,
) -> tuple[Scene, Job | None]:
    """Rename and/or re-encode. A colour/size-only change keeps the tiles: the client
    restyles from per-point columns, the tiles' own or (a column the encoding did not need
    when tiled) their sidecars'. Positions or the filter changing re-tiles, and so does a
    categorical colour by a text column whose codes neither carries (docs/scenes.md,
    "Tile content")."""
    scene = await get_scene(session, principal, scene_id)
    require_role(principal, scene.workspace_id, Role.editor)
    if name is not None:
        scene.name = name
    job: Job | None = None
    if encoding_given:
        dataset = await dataset_of(session, scene)
        resolved = resolve_encoding(dataset, encoding)
        old = ResolvedEncoding.model_validate(scene.resolved)
        scene.encoding = encoding or {}
        scene.resolved = resolved.model_dump(mode="json")
        # Tiles carry the codes of the text column a categorical colour asks for, and no
        # other: colouring by a text column the tiles lack needs new tiles.
        needs_codes = coded_text_column(resolved) not in (None, coded_text_column(old))
        if (
            not is_style_only_change(old, resolved)
            or needs_codes
            or scene.status == SceneStatus.failed
        ):
            job = await _start_tiling(jobs, scene, dataset)
    await session.flush()
    await delivery.forget_delivery(session, cache, scene.id)
    return scene, job


async def delete_scene(
    session: AsyncSession,
    storage: BlobStorage,
    cache: Cache,
    principal: Principal,
    scene_id: uuid.UUID,
) -> None:

    scene = await get_scene(session, principal, scene_id)
    require_role(principal, scene.workspace_id, Role.editor)
    prefix = scene_prefix(scene)
    await record_audit(
        session,
        workspace_id=scene.workspace_id,
        actor_id=principal.user_id,
        api_key_id=principal.api_key_id,
        action="scene.deleted",
        target_type="scene",
        target_id=scene.id,
        details={"name": scene.name, "dataset_id": str(scene.dataset_id)},
    )
    await SceneRepository(session).remove(scene)
    # Deferred while a backup runs: its snapshot may still hold these rows.
    delete_after_commit(session, storage, prefix)
    await delivery.forget_delivery(session, cache, scene_id)


async def apply_tiling_outcome(session: AsyncSession, job: Job) -> None:
    """Runs in the transaction that finishes a tiling job. A job that is no longer the
    scene's current one (the scene was re-tiled meanwhile) changes nothing."""
    if job.scene_id is None:
        return
    scene = await session.get(Scene, job.scene_id)
    if scene is None or scene.job_id != job.id:
        return
    if job.status == JobStatus.succeeded and job.result:
        scene.status = SceneStatus.ready
        scene.tileset_version = str(job.result["version"])
        scene.tileset_prefix = str(job.result["prefix"])
        info = {k: v for k, v in job.result.items() if k != "prefix"}
        scene.tileset_info = cast(TilesetInfo, info)  # the tiling job's result (scene.tasks)
        scene.error_code = scene.error_message = None
    elif job.status in (JobStatus.failed, JobStatus.cancelled):
        scene.status = SceneStatus.failed
        scene.error_code = job.error_code or job.status.value
        scene.error_message = job.error_message or f"The tiling job was {job.status.value}."
    await session.flush()
