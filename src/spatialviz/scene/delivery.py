"""Delivery of a scene's tiles: the cached facts a signed request needs (:class:`Delivery`),
signature checks against them, signed tileset URLs, and what a delivery response is made of
before any byte is read (storage key, ETag, cache lifetime, content type, headers). The
FastAPI delivery routes and the signed fast path (``scene.fastpath``) both build their
answers from these, so they cannot drift."""

from __future__ import annotations

import functools
import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.auth import grants
from spatialviz.blobhttp import headers as http
from spatialviz.config import Settings
from spatialviz.kit import keyring
from spatialviz.kit.cache import Cache
from spatialviz.kit.db import after_commit
from spatialviz.models.scene import Scene, SceneStatus
from spatialviz.scene.exceptions import (
    SceneNotFound,
    SignatureRejected,
    TileNotFound,
    TilesetNotReady,
)
from spatialviz.scene.repository import SceneRepository
from spatialviz.signing import signatures

TILESET = "tileset.json"
#: The cache key namespace of delivery facts (hit/miss counted, ``kit.cache_metrics``).
CACHE_NAMESPACE = "scene-delivery"


@dataclass(frozen=True)
class BlobTarget:
    key: str
    etag: str
    cache_control: str
    content_type: str


def etag_of(*parts: str) -> str:
    """Strong ETag from what names the content (tileset version + path, or an export key):
    blobs are immutable under their key, so no content hash has to be read."""
    return http.strong_etag(hashlib.sha256("/".join(parts).encode()).hexdigest())


def safe_tile_path(path: str) -> str:
    """``path`` below ``tiles/``, or TileNotFound for anything that could leave it."""
    parts = path.split("/")
    if not path or any(p in ("", ".", "..") for p in parts) or "\0" in path or len(path) > 500:
        raise TileNotFound("No such tile.")
    return path


def scene_blob(entry: Delivery, rel: str) -> BlobTarget:
    """``rel`` is ``tileset.json`` or ``tiles/<safe path>``; TilesetNotReady until tiled."""
    return BlobTarget(
        key=tile_key(entry, rel),
        etag=etag_of(str(entry.version), rel),
        cache_control=http.cache_control_for(rel),
        content_type=http.content_type_for(rel),
    )


def blob_headers(target: BlobTarget, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Headers of a 200/206/304 answer (no Content-Type/Length: those depend on the body)."""
    return {
        "ETag": target.etag,
        "Cache-Control": target.cache_control,
        "Accept-Ranges": "bytes",
        **(extra or {}),
    }


def x_accel_headers(headers: dict[str, str], prefix: str, key: str) -> dict[str, str]:
    """Hand the bytes to nginx. nginx answers ranges itself and adds its own Accept-Ranges;
    ours would repeat it."""
    out = {k: v for k, v in headers.items() if k != "Accept-Ranges"}
    out["X-Accel-Redirect"] = f"{prefix.rstrip('/')}/{key}"
    return out


# --- what a signature may reach, cached -----------------------------------------------------


class Delivery(BaseModel):
    """The cached facts a signed request needs: no database query on the hot path."""

    model_config = ConfigDict(frozen=True)

    scene_id: uuid.UUID
    workspace_id: uuid.UUID
    dataset_id: uuid.UUID
    prefix: str | None
    version: str | None
    generation: int

    def to_bytes(self) -> bytes:
        return _CachedDelivery(format=DELIVERY_FORMAT, **dict(self)).model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Delivery | None:
        """The facts a cached record holds, or None for one this code cannot read (written
        in another format, or damaged): a miss, read again from the database."""
        return _parse_delivery(raw)


# The cache record's format: change it (here and in ``_CachedDelivery.format``) with the
# fields, and records of another format are misses. The fields stay flat beside it, so
# code that predates the format still reads the records this code writes.
DELIVERY_FORMAT: Literal[2] = 2


class _CachedDelivery(Delivery):
    """A :class:`Delivery` as the cache holds it: its fields and the record's format."""

    format: Literal[2]


@functools.lru_cache(maxsize=1024)
def _parse_delivery(raw: bytes) -> Delivery | None:
    # Memoised on the cached bytes themselves: equal bytes are an equal (frozen) entry, so
    # this can never serve stale facts; it only skips re-parsing JSON on every signed GET.
    try:
        record = _CachedDelivery.model_validate_json(raw)
    except ValidationError:
        return None
    return Delivery(**record.model_dump(exclude={"format"}))


def delivery_key(scene_id: uuid.UUID) -> str:
    return f"{CACHE_NAMESPACE}:{scene_id}"


async def forget_delivery(session: AsyncSession, cache: Cache, scene_id: uuid.UUID) -> None:
    """Drop the cached delivery facts now and again once the change has committed."""

    async def forget() -> None:
        await cache.delete(delivery_key(scene_id))

    await forget()
    after_commit(session, forget)


async def cached_delivery(cache: Cache, scene_id: uuid.UUID) -> Delivery | None:
    """The cached facts only (None on a miss): what the signed fast path can use without a
    database session. Every revocation deletes the entry, so a hit is current."""
    raw = await cache.get(delivery_key(scene_id))
    return None if raw is None else Delivery.from_bytes(raw)


async def delivery(
    session: AsyncSession, cache: Cache, settings: Settings, scene_id: uuid.UUID
) -> Delivery:
    cached = await cached_delivery(cache, scene_id)
    if cached is not None:
        return cached
    scene = await SceneRepository(session).get_unscoped(scene_id)
    if scene is None:
        raise SceneNotFound("Scene not found.")
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
            delivery_key(scene_id), entry.to_bytes(), settings.scene_delivery_cache_seconds
        )
    return entry


def authenticate_signature(
    token: str, scene_id: uuid.UUID, settings: Settings
) -> signatures.TileGrant:
    """The signature's fields once its MAC is proven; 403 otherwise, before anything is
    looked up, so a forged signature answers alike for existing and missing scenes."""
    # After a rotation the old secret verifies until its signatures have expired
    # (kit/keyring.py); a token matches at most one secret, the signer's tried first.
    failure: signatures.SignatureError = signatures.SignatureInvalid("no signing secret")
    for secret in keyring.tile_secrets(settings, time.time()):
        try:
            return signatures.authenticate(token, scene_id, secret)
        except signatures.SignatureError as exc:
            failure = exc  # authenticate only proves the MAC: another secret may match
    raise SignatureRejected(str(failure), code=failure.code)


def check_signature(
    entry: Delivery, signed: signatures.TileGrant, grant: grants.GrantState
) -> signatures.TileGrant:
    """403 unless an authentic signature is unexpired, for the current tileset, and its
    grant is alive at the generation it was minted at."""
    now = time.time()
    try:
        return signatures.check_current(
            signed, now, generation=entry.generation, grant_generation=grant.alive_at(now)
        )
    except signatures.SignatureError as exc:
        raise SignatureRejected(str(exc), code=exc.code) from None


def tile_key(entry: Delivery, path: str) -> str:
    if entry.prefix is None:
        raise TilesetNotReady("The scene's tileset is not ready yet.")
    return f"{entry.prefix}/{path}"


def tileset_url(
    scene: Scene,
    settings: Settings,
    grant: signatures.Grant,
    *,
    grant_until: int | None = None,
    now: float | None = None,
) -> str | None:
    """A short-lived signed URL for the scene's tileset, or None until it is ready. It lasts
    the signature lifetime, never beyond its grant's own end (a share link's expiry)."""
    if scene.status != SceneStatus.ready or scene.tileset_prefix is None:
        return None
    moment = now if now is not None else time.time()
    expires = int(moment + settings.scene_signature_ttl_seconds)
    if grant_until is not None:
        expires = min(expires, grant_until)
    token = signatures.sign(
        scene.id,
        "read",
        expires,
        keyring.tile_signing_secret(settings, moment),
        grant=grant,
        generation=scene.signature_generation,
    )
    return f"/api/v1/scenes/{scene.id}/tileset.json?sig={token}"
