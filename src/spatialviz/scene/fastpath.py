"""Signed tile delivery without FastAPI's dependency injection.

Viewers fetch hundreds of tiles per scene with ``?sig=``; on that path the FastAPI route
spent more time resolving dependencies, opening a (never used) session and hopping to a
thread per MiB than sending bytes (issue 7, profile in docs/scenes.md). This ASGI
middleware sits just outside the router and answers a signed ``GET`` of
``/api/v1/scenes/{id}/tileset.json`` or ``…/tiles/{path}`` itself when, and only when,
everything it needs is at hand:

- the query string is exactly one ``sig`` and there is no ``Range`` or ``X-Share-Token``;
- the scene's delivery facts are in the cache (``delivery.cached_delivery``: the same entry
  the route reads, deleted on every revocation, so revocation is as immediate as on the
  route; there is deliberately no process-local copy in front of Redis);
- the state of the grant the signature was minted from is in the cache
  (``grants.cached_state``, likewise deleted when that access ends: member removed, role
  changed, user disabled, key or share link revoked);
- the signature verifies (``delivery.check_signature``, the route's own check);
- storage is local: with ``x_accel_prefix`` it answers ``X-Accel-Redirect`` without
  touching storage, otherwise it reads the file with one thread hop per
  ``READ_CHUNK_BYTES`` (one in all for a typical tile).

Anything else — a cache miss, a bad or expired signature, a missing file, S3, a range —
is passed on untouched to the FastAPI route, which answers exactly as before (problem+json
errors, 206/416, share tokens, bearer access). Headers, ETags and keys come from
``scene.delivery``, shared with the route.
"""

from __future__ import annotations

import os
import re
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qsl

import anyio
from prometheus_client import CollectorRegistry, Counter
from starlette.types import ASGIApp, Receive, Scope, Send

from spatialviz.auth import grants
from spatialviz.blobhttp import headers as http
from spatialviz.kit.errors import SpatialvizError
from spatialviz.kit.resources import Resources
from spatialviz.scene import delivery
from spatialviz.scene.delivery import (
    TILESET,
    blob_headers,
    safe_tile_path,
    scene_blob,
    x_accel_headers,
)
from spatialviz.scene.endpoints import router as scene_router

#: Bytes read per thread hop, and so the most one response holds in memory (uvicorn waits
#: for the socket to drain before the next chunk). Tiles are mostly smaller: one hop each.
READ_CHUNK_BYTES = 4 << 20

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_PATH = re.compile(rf"^/api/v1/scenes/({_UUID})/(tileset\.json|tiles/(.+))$")
_TEMPLATES = {
    TILESET: "/api/v1/scenes/{scene_id}/tileset.json",
    "tiles": "/api/v1/scenes/{scene_id}/tiles/{path}",
}
# Requests with these go to the route: it owns ranges (206/416) and validates the share
# header (a 422 when too long) even when a signature is present.
_ROUTE_ONLY_HEADERS = frozenset({b"range", b"x-share-token"})
_MAX_SIG = 200  # the route's Query(max_length=200); longer is a 422 there


@dataclass(frozen=True)
class _Signed:
    scene_id: uuid.UUID
    rel: str  # "tileset.json" or "tiles/<path>"
    sig: str
    if_none_match: str | None


def _signed_request(scope: Scope) -> _Signed | None:
    """The parts of a request this path may answer, or None to leave it to the route."""
    # GET only: the routes are GET-only (HEAD is their 405, and stays so).
    if scope["method"] != "GET" or scope.get("root_path"):
        return None
    match = _PATH.match(scope["path"])
    if match is None:
        return None
    query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    if len(query) != 1 or query[0][0] != "sig" or not 0 < len(query[0][1]) <= _MAX_SIG:
        return None
    if_none_match = None
    for name, value in scope["headers"]:
        if name in _ROUTE_ONLY_HEADERS:
            return None
        if name == b"if-none-match" and if_none_match is None:  # the first, as Starlette
            if_none_match = value.decode("latin-1")
    tile_path = match.group(3)
    if tile_path is not None:
        try:
            safe_tile_path(tile_path)
        except SpatialvizError:
            return None
    return _Signed(uuid.UUID(match.group(1)), match.group(2), query[0][1], if_none_match)


@dataclass
class _OpenBlob:
    file: BinaryIO
    size: int
    first: bytes


def _open_blob(path: Path, read: int) -> _OpenBlob | None:
    """Open, check and read the first ``read`` bytes in one thread hop; None when the file
    is not there (the route then answers its 404)."""
    try:
        fh = path.open("rb", buffering=0)
    except OSError:
        return None
    try:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            fh.close()
            return None
        return _OpenBlob(fh, info.st_size, fh.read(min(read, info.st_size)) if read else b"")
    except BaseException:
        fh.close()
        raise


class SignedDeliveryFastPath:
    """Pure ASGI middleware; install it innermost so request ids, access logs, metrics and
    security headers wrap its responses like any other."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        requests = Counter(
            "spatialviz_scene_fast_path_total",
            "Signed tileset/tile GETs the fast path looked up: served, or passed to the route.",
            ["outcome"],
            registry=registry,
        )
        self._served, self._passed = requests.labels("served"), requests.labels("passed")
        # The access log and metrics label requests by route template: point them at the
        # route each request stands in for (else they would match the path again, slowly).
        self._routes = {
            rel: next(r for r in scene_router.routes if getattr(r, "path_format", "") == t)
            for rel, t in _TEMPLATES.items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        signed = _signed_request(scope) if scope["type"] == "http" else None
        if signed is None or not await self._serve(scope, signed, send):
            if signed is not None:
                self._passed.inc()
            await self.app(scope, receive, send)
            return
        self._served.inc()

    async def _serve(self, scope: Scope, signed: _Signed, send: Send) -> bool:
        """Answer the request, or return False before anything was sent."""
        resources: Resources = scope["app"].state.resources
        entry = await delivery.cached_delivery(resources.cache, signed.scene_id)
        if entry is None or entry.prefix is None:
            return False
        try:
            token = delivery.authenticate_signature(signed.sig, signed.scene_id, resources.settings)
            grant = await grants.cached_state(resources.cache, token.grant)
            if grant is None:
                return False
            delivery.check_signature(entry, token, grant)
        except SpatialvizError:
            return False
        target = scene_blob(entry, signed.rel)
        path = resources.storage.local_path(target.key)
        if path is None:
            return False
        # (The router overwrites this when the request is passed on after all.)
        scope["route"] = self._routes[TILESET if signed.rel == TILESET else "tiles"]
        headers = blob_headers(target)
        not_modified = http.evaluate_conditional(signed.if_none_match, target.etag)
        prefix = resources.settings.x_accel_prefix
        if prefix:  # as serve_blob: no storage call, nginx sends the file
            if not_modified:
                await _start(send, 304, headers, None)
            else:
                redirect = {**x_accel_headers(headers, prefix, target.key), "Content-Length": "0"}
                await _start(send, 200, redirect, target.content_type)
            await send({"type": "http.response.body", "body": b""})
            return True
        read = 0 if not_modified else READ_CHUNK_BYTES
        blob = await anyio.to_thread.run_sync(_open_blob, path, read)
        if blob is None:
            return False
        try:
            if not_modified:
                await _start(send, 304, headers, None)
            else:
                headers["Content-Length"] = str(blob.size)
                await _start(send, 200, headers, target.content_type)
            await _send_body(send, blob)
        finally:
            blob.file.close()
        return True


async def _start(
    send: Send, status: int, headers: dict[str, str], content_type: str | None
) -> None:
    # As Starlette sends them (lower-case names); none of our blob types is text/*, so no
    # charset is appended, as in Starlette.
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    if content_type is not None:
        raw.append((b"content-type", content_type.encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": raw})


async def _send_body(send: Send, blob: _OpenBlob) -> None:
    """The chunk already read, then the rest one thread hop per chunk. Empty for a 304
    (nothing was read). uvicorn's send waits for the socket to drain, so at most one
    chunk per response is held in memory."""
    sent = len(blob.first)
    total = sent if not blob.first else blob.size
    await send({"type": "http.response.body", "body": blob.first, "more_body": sent < total})
    while sent < total:
        chunk = await anyio.to_thread.run_sync(blob.file.read, min(READ_CHUNK_BYTES, total - sent))
        if not chunk:
            raise OSError("the file shrank while it was being sent")
        sent += len(chunk)
        await send({"type": "http.response.body", "body": chunk, "more_body": sent < total})
