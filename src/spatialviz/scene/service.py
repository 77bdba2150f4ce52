"""Scene logic: create, read, restyle or re-tile, delete; share links; signed delivery;
spatial queries; exports. No FastAPI imports; never commits (the request or the job owns
the transaction)."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.audit.service import record_audit
from spatialviz.config import Settings
from spatialviz.dataset.exceptions import DatasetNotFound
from spatialviz.dataset.repository import DatasetRepository
from spatialviz.job.service import JobService
from spatialviz.kit.cache import Cache
from spatialviz.kit.db import after_commit, as_utc, utcnow
from spatialviz.kit.storage import BlobStorage
from spatialviz.kit.tenancy import Principal, require_role
from spatialviz.models.dataset import Dataset, DatasetStatus
from spatialviz.models.job import Job, JobStatus
from spatialviz.models.scene import Scene, SceneStatus, ShareLink
from spatialviz.models.workspace import Role
from spatialviz.scene import grants, signing
from spatialviz.scene.encoding import (
    ColumnStats,
    EncodingError,
    ResolvedEncoding,
    is_style_only_change,
    type_kind,
    validate_encoding,
)
from spatialviz.scene.exceptions import (
    DatasetNotReady,
    InvalidEncoding,
    SceneNotFound,
    ShareLinkNotFound,
    SignatureRejected,
    TilesetNotReady,
)
from spatialviz.scene.transform import axes_metadata

TILE_KIND = "scene.tile"
EXPORT_FORMATS = ("glb", "usdz", "3tz")
ExportFormat = Literal["glb", "usdz", "3tz"]
EXPORT_KINDS: dict[str, str] = {f: f"scene.export_{f}" for f in EXPORT_FORMATS}


# --- blob keys ---------------------------------------------------------------------------


def scene_prefix(scene: Scene) -> str:
    """Under the dataset's prefix, so deleting a dataset deletes its scenes' blobs too."""
    return f"workspaces/{scene.workspace_id}/datasets/{scene.dataset_id}/scenes/{scene.id}"


def tilesets_prefix(scene: Scene) -> str:
    return f"{scene_prefix(scene)}/tilesets"


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
    return f"{scene_prefix(scene)}/exports/{export_version(scene, fmt)}/scene.{fmt}"


# --- reading -----------------------------------------------------------------------------


async def get_scene(
    session: AsyncSession, principal: Principal, scene_id: uuid.UUID, at_least: Role = Role.viewer
) -> Scene:
    from spatialviz.scene.repository import SceneRepository

    scene = await SceneRepository(session).get(principal, scene_id, at_least)
    if scene is None:
        raise SceneNotFound("Scene not found.")
    return scene


async def get_scene_unscoped(session: AsyncSession, scene_id: uuid.UUID) -> Scene:
    """After a share token or signature has proven access."""
    from spatialviz.scene.repository import SceneRepository

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
    from spatialviz.scene.repository import SceneRepository

    return list(
        await SceneRepository(session).page(
            principal, dataset_id=dataset_id, workspace_id=workspace_id, after=after, limit=limit
        )
    )


async def current_job(session: AsyncSession, scene: Scene) -> Job | None:
    from spatialviz.scene.repository import SceneRepository

    return await SceneRepository(session).job_of(scene)


def effective_status(scene: Scene, job: Job | None) -> SceneStatus:
    """``tiling`` while the scene's job runs (the row says queued until the job ends)."""
    if scene.status == SceneStatus.queued and job is not None and job.status == JobStatus.running:
        return SceneStatus.tiling
    return scene.status


def _column_stats(dataset: Dataset) -> dict[str, dict[str, Any]]:
    stats = (dataset.stats or {}).get("columns") or {}
    return {str(k): v for k, v in stats.items() if isinstance(v, dict)}


def _columns(dataset: Dataset) -> list[dict[str, Any]]:
    return list((dataset.schema_info or {}).get("columns") or [])


def attributes_of(dataset: Dataset, resolved: ResolvedEncoding | None) -> list[dict[str, Any]]:
    """The per-point attributes a client may colour by, with their kind and range."""
    stats = _column_stats(dataset)
    out: list[dict[str, Any]] = []
    for column in _columns(dataset):
        name = str(column.get("name"))
        if column.get("role") in ("row_id", "color"):
            continue
        kind = type_kind(str(column.get("type", "")))
        st = stats.get(name, {})
        categories = st.get("categories")
        entry: dict[str, Any] = {
            "name": name,
            "kind": "continuous" if kind in ("numeric", "temporal") else "categorical",
            "min": _finite(st.get("min")),
            "max": _finite(st.get("max")),
            "unit": column.get("unit"),
        }
        if categories:
            entry["categories"] = categories
            if isinstance(st.get("category_counts"), list):
                entry["category_counts"] = st["category_counts"]
                entry["other_count"] = st.get("other_count")
        elif kind == "bool":
            entry["categories"] = [False, True]
        out.append(entry)
    return out


def _finite(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def axes_of(dataset: Dataset, resolved: ResolvedEncoding) -> dict[str, dict[str, Any]]:
    stats = {name: ColumnStats.model_validate(st) for name, st in _column_stats(dataset).items()}
    return axes_metadata(resolved, stats)


def tileset_url(
    scene: Scene,
    settings: Settings,
    grant: signing.Grant,
    *,
    grant_until: int | None = None,
    now: float | None = None,
) -> str | None:
    """A short-lived signed URL for the scene's tileset, or None until it is ready. It lasts
    the signature lifetime, never beyond its grant's own end (a share link's expiry)."""
    if scene.status != SceneStatus.ready or scene.tileset_prefix is None:
        return None
    expires = int((now if now is not None else time.time()) + settings.scene_signature_ttl_seconds)
    if grant_until is not None:
        expires = min(expires, grant_until)
    token = signing.sign(
        scene.id,
        "read",
        expires,
        settings.secret,
        grant=grant,
        generation=scene.signature_generation,
    )
    return f"/api/v1/scenes/{scene.id}/tileset.json?sig={token}"


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
    """Rename and/or re-encode. A colour/size-only change keeps the tiles (the client
    restyles from per-point attributes); positions or the filter changing re-tiles."""
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
        if not is_style_only_change(old, resolved) or scene.status == SceneStatus.failed:
            job = await _start_tiling(jobs, scene, dataset)
    await session.flush()
    await forget_delivery(session, cache, scene.id)
    return scene, job


async def delete_scene(
    session: AsyncSession,
    storage: BlobStorage,
    cache: Cache,
    principal: Principal,
    scene_id: uuid.UUID,
) -> None:
    from spatialviz.scene.repository import SceneRepository

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

    async def delete_blobs() -> None:
        await anyio.to_thread.run_sync(storage.delete_prefix, prefix)

    after_commit(session, delete_blobs)
    await forget_delivery(session, cache, scene_id)


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
        scene.tileset_info = {k: v for k, v in job.result.items() if k not in ("prefix",)}
        scene.error_code = scene.error_message = None
    elif job.status in (JobStatus.failed, JobStatus.cancelled):
        scene.status = SceneStatus.failed
        scene.error_code = job.error_code or job.status.value
        scene.error_message = job.error_message or f"The tiling job was {job.status.value}."
    await session.flush()


# --- share links ---------------------------------------------------------------------------


def share_url(settings: Settings, link: ShareLink, request_origin: str) -> str:
    """The link's web-client URL: under the configured public URL, else under the origin
    the creating request came to (so it works on whatever address the server runs)."""
    token = signing.issue_share_token(
        link.id, link.scene_id, as_utc(link.expires_at), settings.secret
    )
    base = (settings.public_base_url or request_origin).rstrip("/")
    return f"{base}/scenes/{link.scene_id}?share={token}"


async def create_share_link(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    scene_id: uuid.UUID,
    *,
    expires_in_seconds: int | None,
) -> ShareLink:
    scene = await get_scene(session, principal, scene_id)
    require_role(principal, scene.workspace_id, Role.editor)
    ttl = expires_in_seconds or settings.scene_share_link_ttl_seconds
    ttl = min(ttl, settings.scene_share_link_max_ttl_seconds)
    link = ShareLink(
        id=uuid.uuid4(),
        workspace_id=scene.workspace_id,
        scene_id=scene.id,
        created_by_id=principal.user_id,
        expires_at=(utcnow() + timedelta(seconds=ttl)).replace(microsecond=0),
    )
    session.add(link)
    await session.flush()
    await record_audit(
        session,
        workspace_id=scene.workspace_id,
        actor_id=principal.user_id,
        api_key_id=principal.api_key_id,
        action="scene.share_link_created",
        target_type="share_link",
        target_id=link.id,
        details={"scene_id": str(scene.id), "expires_at": link.expires_at.isoformat()},
    )
    return link


async def list_share_links(
    session: AsyncSession, principal: Principal, scene_id: uuid.UUID
) -> list[ShareLink]:
    from spatialviz.scene.repository import ShareLinkRepository

    scene = await get_scene(session, principal, scene_id)
    require_role(principal, scene.workspace_id, Role.editor)
    return list(await ShareLinkRepository(session).for_scene(principal, scene.id))


async def revoke_share_link(
    session: AsyncSession,
    cache: Cache,
    principal: Principal,
    scene_id: uuid.UUID,
    link_id: uuid.UUID,
) -> None:
    from spatialviz.scene.repository import ShareLinkRepository

    scene = await get_scene(session, principal, scene_id)
    require_role(principal, scene.workspace_id, Role.editor)
    link = await ShareLinkRepository(session).get(principal, link_id)
    if link is None or link.scene_id != scene.id:
        raise ShareLinkNotFound("Share link not found.")
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        await record_audit(
            session,
            workspace_id=scene.workspace_id,
            actor_id=principal.user_id,
            api_key_id=principal.api_key_id,
            action="scene.share_link_revoked",
            target_type="share_link",
            target_id=link.id,
            details={"scene_id": str(scene.id)},
        )
        await session.flush()
    await forget_delivery(session, cache, scene.id)
    await grants.forget_grants(session, cache, [(signing.GrantKind.share.value, link.id)])


# --- delivery: what a signature or share token may reach, cached -------------------------


@dataclass(frozen=True)
class Delivery:
    """The cached facts a signed request needs: no database query on the hot path."""

    scene_id: uuid.UUID
    workspace_id: uuid.UUID
    dataset_id: uuid.UUID
    prefix: str | None
    version: str | None
    generation: int

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "scene_id": str(self.scene_id),
                "workspace_id": str(self.workspace_id),
                "dataset_id": str(self.dataset_id),
                "prefix": self.prefix,
                "version": self.version,
                "generation": self.generation,
            }
        ).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Delivery:
        return _parse_delivery(raw)


@functools.lru_cache(maxsize=1024)
def _parse_delivery(raw: bytes) -> Delivery:
    # Memoised on the cached bytes themselves: equal bytes are an equal (frozen) entry, so
    # this can never serve stale facts; it only skips re-parsing JSON on every signed GET.
    d = json.loads(raw)
    return Delivery(
        scene_id=uuid.UUID(d["scene_id"]),
        workspace_id=uuid.UUID(d["workspace_id"]),
        dataset_id=uuid.UUID(d["dataset_id"]),
        prefix=d["prefix"],
        version=d["version"],
        generation=int(d["generation"]),
    )


def _delivery_key(scene_id: uuid.UUID) -> str:
    return f"scene-delivery:{scene_id}"


async def forget_delivery(session: AsyncSession, cache: Cache, scene_id: uuid.UUID) -> None:
    """Drop the cached delivery facts now and again once the change has committed."""

    async def forget() -> None:
        await cache.delete(_delivery_key(scene_id))

    await forget()
    after_commit(session, forget)


async def cached_delivery(cache: Cache, scene_id: uuid.UUID) -> Delivery | None:
    """The cached facts only (None on a miss): what the signed fast path can use without a
    database session. Every revocation deletes the entry, so a hit is current."""
    raw = await cache.get(_delivery_key(scene_id))
    return None if raw is None else Delivery.from_bytes(raw)


async def delivery(
    session: AsyncSession, cache: Cache, settings: Settings, scene_id: uuid.UUID
) -> Delivery:
    cached = await cached_delivery(cache, scene_id)
    if cached is not None:
        return cached
    scene = await get_scene_unscoped(session, scene_id)
    ready = scene.status == SceneStatus.ready
    entry = Delivery(
        scene_id=scene.id,
        workspace_id=scene.workspace_id,
        dataset_id=scene.dataset_id,
        prefix=scene.tileset_prefix if ready else None,
        version=scene.tileset_version if ready else None,
        generation=scene.signature_generation,
    )
    if ready and settings.scene_delivery_cache_seconds > 0:
        # Not-ready scenes are not cached: the job that finishes them runs elsewhere.
        await cache.set(
            _delivery_key(scene_id), entry.to_bytes(), settings.scene_delivery_cache_seconds
        )
    return entry


def authenticate_signature(
    token: str, scene_id: uuid.UUID, settings: Settings
) -> signing.TileGrant:
    """The signature's fields once its MAC is proven; 403 otherwise, before anything is
    looked up, so a forged signature answers alike for existing and missing scenes."""
    try:
        return signing.authenticate(token, scene_id, settings.secret)
    except signing.SignatureError as exc:
        raise SignatureRejected(str(exc), code=exc.code) from None


def check_signature(
    entry: Delivery, signed: signing.TileGrant, grant: grants.GrantState
) -> signing.TileGrant:
    """403 unless an authentic signature is unexpired, for the current tileset, and its
    grant is alive at the generation it was minted at."""
    now = time.time()
    try:
        return signing.check_current(
            signed, now, generation=entry.generation, grant_generation=grant.alive_at(now)
        )
    except signing.SignatureError as exc:
        raise SignatureRejected(str(exc), code=exc.code) from None


def authenticate_share_token(
    token: str, scene_id: uuid.UUID, settings: Settings
) -> signing.ShareToken:
    """A share token proven authentic, unexpired and for this scene; 403 otherwise, before
    anything is looked up (so the answer is the same for a missing scene)."""
    try:
        share = signing.verify_share_token(token, time.time(), settings.secret)
    except signing.SignatureError as exc:
        raise SignatureRejected(str(exc), code=exc.code) from None
    if share.scene_id != scene_id:
        raise SignatureRejected("The share link is for another scene.")
    return share


def check_share_grant(grant: grants.GrantState) -> None:
    if grant.alive_at(time.time()) is None:
        raise SignatureRejected("The share link was revoked.", code="signature_revoked")


def tile_key(entry: Delivery, path: str) -> str:
    if entry.prefix is None:
        raise TilesetNotReady("The scene's tileset is not ready yet.")
    return f"{entry.prefix}/{path}"


def share_expiry(link: ShareLink) -> datetime:
    return as_utc(link.expires_at).astimezone(UTC)


# --- queries -------------------------------------------------------------------------------


async def canonical_path(settings: Settings, storage: BlobStorage, dataset: Dataset) -> Path:
    """The dataset's canonical Parquet as a local file: in place with local storage, else a
    copy cached under ``var/cache`` (its spatial index is built and kept next to it)."""
    if dataset.canonical_key is None:
        raise DatasetNotReady("The dataset has no canonical file.")
    local = storage.local_path(dataset.canonical_key)
    if local is not None and local.is_file():
        return local
    cached = settings.var_dir / "cache" / "datasets" / str(dataset.id) / "canonical.parquet"
    if not cached.is_file():
        cached.parent.mkdir(parents=True, exist_ok=True)
        part = cached.with_name(f"canonical.{uuid.uuid4().hex[:8]}.part")
        await anyio.to_thread.run_sync(storage.get_file, dataset.canonical_key, part)
        part.replace(cached)
    return cached


# --- exports -------------------------------------------------------------------------------


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
    scene = await get_scene(session, principal, scene_id)
    if scene.status != SceneStatus.ready or scene.tileset_prefix is None:
        raise TilesetNotReady("The scene is not ready yet; export it once tiling finished.")
    key = export_key(scene, fmt)
    if await anyio.to_thread.run_sync(storage.exists, key):
        return scene, key
    dataset = await dataset_of(session, scene)
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
