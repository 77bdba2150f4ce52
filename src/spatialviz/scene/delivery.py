"""What a delivery response is made of, before any byte is read: the storage key, ETag,
cache lifetime, content type and headers. The FastAPI delivery routes and the signed fast
path (``scene.fastpath``) both build their answers from these, so they cannot drift."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from spatialviz.blobhttp import headers as http
from spatialviz.scene import service
from spatialviz.scene.exceptions import TileNotFound
from spatialviz.scene.service import Delivery

TILESET = "tileset.json"


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
        key=service.tile_key(entry, rel),
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
