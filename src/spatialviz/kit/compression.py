"""Pure ASGI middleware: gzip for API responses that are worth it (JSON lists, tileset.json,
the OpenAPI document, problem+json, /metrics), when the client accepts gzip.

`spatialviz serve` has no nginx in front of it (deploy/nginx compresses in production; it
passes a response that is already encoded through untouched). Starlette's GZipMiddleware
is not used because its rules are not ours:

- only responses whose type is compressible (``kit.encodings.is_compressible``, nginx's
  gzip_types) and at least ``minimum_size`` long. Tiles (``model/gltf-binary``, already
  meshopt/Draco compressed), exports and anything else binary pass through with their
  headers and bytes untouched: for the signed tile fast path this middleware costs one look
  at the response's headers;
- never a response that is already encoded (the precompressed static files), a 206 (its
  Content-Range counts the plain bytes), a 204/304, an ``X-Accel-Redirect`` (nginx sends
  that body and compresses it itself), a HEAD, or a path under ``excluded_prefixes`` (the
  tus upload endpoints);
- ``Accept-Encoding`` is read with its q-values (``gzip;q=0`` is a no);
- a compressible response says ``Vary: Accept-Encoding`` whether or not this client got it
  compressed, so a shared cache keeps both;
- a strong ETag becomes weak (``W/"…"``) on the compressed body: the bytes differ from the
  plain ones the tag was made for, and the routes compare If-None-Match weakly, so a
  revalidation still ends in 304;
- a body whose length is known and at most ``buffer_bytes`` is compressed whole and sent
  with its Content-Length; a longer one is compressed chunk by chunk as it streams (bounded
  memory), and one of unknown length is flushed after every chunk, so nothing the app has
  sent is held back in the compressor;
- chunks of ``thread_bytes`` or more are compressed in a worker thread (zlib releases the
  GIL), so a large tileset.json does not stall the event loop.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable
from typing import Final

import anyio
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spatialviz.kit.encodings import (
    MIN_COMPRESS_BYTES,
    add_vary,
    choose_coding,
    is_compressible_raw,
)

#: zlib's own default: most of level 9's ratio on JSON at a fraction of its time.
DEFAULT_LEVEL: Final = 6
DEFAULT_BUFFER_BYTES: Final = 1 << 20
DEFAULT_THREAD_BYTES: Final = 256 << 10
_GZIP_WBITS: Final = 16 + zlib.MAX_WBITS  # a gzip header and trailer, as browsers expect
# Statuses without a body to compress, and 206 whose Content-Range counts the plain bytes.
_UNTOUCHED_STATUSES: Final = frozenset({204, 206, 304})
# Already encoded (the precompressed static files), a part of the plain bytes, or a body
# nginx sends (and compresses) itself.
_UNTOUCHED_IF_PRESENT: Final = frozenset(
    {b"content-encoding", b"content-range", b"x-accel-redirect"}
)


class GzipMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int = MIN_COMPRESS_BYTES,
        level: int = DEFAULT_LEVEL,
        buffer_bytes: int = DEFAULT_BUFFER_BYTES,
        thread_bytes: int = DEFAULT_THREAD_BYTES,
        excluded_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.minimum_size, self.level = minimum_size, level
        self.buffer_bytes, self.thread_bytes = buffer_bytes, thread_bytes
        self.excluded_prefixes = excluded_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.excluded_prefixes):
            await self.app(scope, receive, send)
            return
        responder = _Responder(self, send, scope)
        await self.app(scope, receive, responder.send)


class _Responder:
    """One response's state: passing through, collecting a short body, or streaming."""

    def __init__(self, config: GzipMiddleware, send: Send, scope: Scope) -> None:
        self.config, self.downstream, self.scope = config, send, scope
        self.start: Message | None = None  # held until the body says how to send it
        self.mode = "pass"  # "pass" | "buffer" | "stream"
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.compressor: zlib._Compress | None = None
        self.flush_each = False

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            await self._on_start(message)
        elif kind == "http.response.body" and self.mode == "buffer":
            await self._on_buffered_body(message)
        elif kind == "http.response.body" and self.mode == "stream":
            await self._on_streamed_body(message)
        else:
            if self.start is not None:  # an extension message: send what we held, as it was
                await self.downstream(self.start)
                self.start, self.mode = None, "pass"
            await self.downstream(message)

    async def _on_start(self, message: Message) -> None:
        # One pass over the raw headers, the content type decided first: this is all a tile
        # response costs here (the Accept-Encoding header is only read for a candidate).
        status: int = message["status"]
        content_type = length = None
        untouched = status < 200 or status in _UNTOUCHED_STATUSES
        for name, value in message.get("headers", ()):
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                length = value
            elif name in _UNTOUCHED_IF_PRESENT:
                untouched = True
        if untouched or content_type is None or not is_compressible_raw(content_type):
            await self.downstream(message)
            return
        size = int(length) if length is not None and length.isdigit() else None
        if size is not None and size < self.config.minimum_size:
            await self.downstream(message)
            return
        headers = MutableHeaders(scope=message)
        headers["vary"] = add_vary(headers.get("vary"))
        if not self._wants_gzip():
            await self.downstream(message)
            return
        self.start = message
        if size is not None and size <= self.config.buffer_bytes:
            self.mode = "buffer"
        else:
            self.mode = "stream"
            # Unknown length: a stream the app writes as things happen; flush every chunk.
            self.flush_each = length is None

    def _wants_gzip(self) -> bool:
        if self.scope["method"] == "HEAD":  # its headers would promise a body never made
            return False
        accept = Headers(scope=self.scope).get("accept-encoding")
        return choose_coding(accept, ("gzip",)) == "gzip"

    async def _on_buffered_body(self, message: Message) -> None:
        self.chunks.append(message.get("body", b""))
        self.buffered += len(self.chunks[-1])
        if self.buffered > self.config.buffer_bytes:  # longer than its Content-Length said
            self.mode, self.flush_each = "stream", False
            body, self.chunks = b"".join(self.chunks), []
            await self._on_streamed_body({**message, "body": body})
            return
        if message.get("more_body", False):
            return
        body = b"".join(self.chunks)
        self.chunks = []
        assert self.start is not None
        start, self.start, self.mode = self.start, None, "pass"
        if len(body) < self.config.minimum_size:
            await self.downstream(start)
            await self.downstream({"type": "http.response.body", "body": body})
            return
        compressor = self._compressor()
        compressed = await self._run(len(body), functools.partial(_whole, compressor, body))
        headers = _encoded_headers(start)
        headers["content-length"] = str(len(compressed))
        await self.downstream(start)
        await self.downstream({"type": "http.response.body", "body": compressed})

    async def _on_streamed_body(self, message: Message) -> None:
        if self.start is not None:
            start, self.start = self.start, None
            headers = _encoded_headers(start)
            del headers["content-length"]
            await self.downstream(start)
        compressor = self.compressor or self._compressor()
        self.compressor = compressor
        more = message.get("more_body", False)
        body = message.get("body", b"")
        if not more:
            mode = zlib.Z_FINISH
        else:
            mode = zlib.Z_SYNC_FLUSH if self.flush_each else zlib.Z_NO_FLUSH
        out = await self._run(len(body), functools.partial(_piece, compressor, body, mode))
        if out or not more:
            await self.downstream({"type": "http.response.body", "body": out, "more_body": more})

    def _compressor(self) -> zlib._Compress:
        return zlib.compressobj(self.config.level, zlib.DEFLATED, _GZIP_WBITS)

    async def _run(self, size: int, compress: Callable[[], bytes]) -> bytes:
        """``compress()``, in a worker thread when ``size`` bytes would stall the loop."""
        if size >= self.config.thread_bytes:
            return await anyio.to_thread.run_sync(compress)
        return compress()


def _whole(compressor: zlib._Compress, body: bytes) -> bytes:
    return compressor.compress(body) + compressor.flush(zlib.Z_FINISH)


def _piece(compressor: zlib._Compress, body: bytes, mode: int) -> bytes:
    out = compressor.compress(body)
    if mode != zlib.Z_NO_FLUSH:
        out += compressor.flush(mode)
    return out


def _encoded_headers(start: Message) -> MutableHeaders:
    """The held start message's headers, rewritten in place for a gzip body."""
    headers = MutableHeaders(scope=start)
    headers["content-encoding"] = "gzip"
    etag = headers.get("etag")
    if etag is not None and not etag.startswith("W/"):
        headers["etag"] = f"W/{etag}"
    # Ranges would count compressed bytes; the routes answer a Range with the plain ones.
    if "accept-ranges" in headers:
        del headers["accept-ranges"]
    return headers
