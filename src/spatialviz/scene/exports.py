"""Scene exports (GLB, USDZ, 3TZ): one cached blob per content version, made by a job when
missing. The writers themselves are pure engines (``spatialviz.writers``)."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any, Literal

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.job.service import JobService
from spatialviz.kit.storage import BlobStorage
from spatialviz.kit.tenancy import Principal
from spatialviz.models.job import Job
from spatialviz.models.scene import Scene, SceneStatus
from spatialviz.scene import service
from spatialviz.scene.exceptions import SceneNotFound, TilesetNotReady

EXPORT_FORMATS = ("glb", "usdz", "3tz")
ExportFormat = Literal["glb", "usdz", "3tz"]
EXPORT_KINDS: dict[str, str] = {f: f"scene.export_{f}" for f in EXPORT_FORMATS}


def export_version(scene: Scene, fmt: str) -> str:
    """Changes whenever the export's content would: a new tileset, or (for the formats
    that bake colours) a new encoding."""
    basis: dict[str, Any] = {"tileset": scene.tileset_version}
    if fmt != "3tz":
        basis["encoding"] = scene.resolved
        # GLB/USDZ colours became linear where their formats say so: never serve one
        # cached from before.
        basis["colors"] = "linear"
    raw = json.dumps(basis, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()[:20]


def export_key(scene: Scene, fmt: str) -> str:
    return f"{service.scene_prefix(scene)}/exports/{export_version(scene, fmt)}/scene.{fmt}"


async def request_export(
    session: AsyncSession,
    jobs: JobService,
    storage: BlobStorage,
    principal: Principal,
    scene_id: uuid.UUID,
    fmt: str,
) -> Job | tuple[Scene, str]:
    """The cached export's key when it exists, else the job making it (one per version:
    asking again while it runs returns the same job; asking again after it failed starts a
    new one)."""
    if fmt not in EXPORT_FORMATS:
        raise SceneNotFound(f"No export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}.")
    scene = await service.get_scene(session, principal, scene_id)
    if scene.status != SceneStatus.ready or scene.tileset_prefix is None:
        raise TilesetNotReady("The scene is not ready yet; export it once tiling finished.")
    key = export_key(scene, fmt)
    if await anyio.to_thread.run_sync(storage.exists, key):
        return scene, key
    dataset = await service.dataset_of(session, scene)
    return await jobs.create(
        workspace_id=scene.workspace_id,
        kind=EXPORT_KINDS[fmt],
        scene_id=scene.id,
        dataset_id=scene.dataset_id,
        params={
            "export_key": key,
            "canonical_key": dataset.canonical_key,
            "resolved": scene.resolved,
            "tileset_prefix": scene.tileset_prefix,
        },
        idempotency_key=f"scene-export:{scene.id}:{fmt}:{export_version(scene, fmt)}",
        retry_failed=True,
    )
