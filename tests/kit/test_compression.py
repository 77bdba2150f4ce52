"""GzipMiddleware (kit/compression.py) on a small app: what it compresses, what it leaves
alone byte for byte, the headers it rewrites, and that a stream of unknown length is not
held back in the compressor (over a real uvicorn socket)."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import zlib
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from spatialviz.kit.compression import GzipMiddleware
from tests.conftest import on_loopback

ROWS = [{"id": i, "name": f"dataset {i}", "status": "ready"} for i in range(400)]
BIG = json.dumps(ROWS).encode()
GLB = b"glTF" + os.urandom(8000)
BUFFER_BYTES = 64 << 10
THREAD_BYTES = 8 << 10
STRONG = '"0123456789abcdef0123456789abcdef"'


async def big_json(request: Request) -> Response:
    headers = {"ETag": STRONG, "Cache-Control": "public, max-age=60"}
    return Response(BIG, headers=headers, media_type="application/json")


async def varies(request: Request) -> Response:
    return Response(BIG, headers={"Vary": "Origin"}, media_type="application/json")


async def small_json(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def tile(request: Request) -> Response:
    return Response(GLB, media_type="model/gltf-binary", headers={"Accept-Ranges": "bytes"})


def _pieces(body: bytes, size: int) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        for i in range(0, len(body), size):
            yield body[i : i + size]

    return gen()


async def streamed_known_length(request: Request) -> Response:
    # As serve_blob sends tileset.json: a length, a strong ETag, Accept-Ranges, chunks.
    body = BIG * int(request.query_params.get("times", "1"))
    headers = {"Content-Length": str(len(body)), "ETag": STRONG, "Accept-Ranges": "bytes"}
    return StreamingResponse(_pieces(body, 4096), headers=headers, media_type="application/json")


async def partial(request: Request) -> Response:
    headers = {"Content-Range": f"bytes 0-{len(BIG) - 1}/{len(BIG) + 10}"}
    return Response(BIG, status_code=206, headers=headers, media_type="application/json")


async def already_encoded(request: Request) -> Response:
    headers = {"Content-Encoding": "gzip"}
    return Response(gzip.compress(BIG, mtime=0), headers=headers, media_type="application/json")


async def accel(request: Request) -> Response:
    headers = {"X-Accel-Redirect": "/_blobs/x/tileset.json", "Content-Length": "0"}
    return Response(b"", headers=headers, media_type="application/json")


async def upload(request: Request) -> Response:
    return Response(BIG, media_type="application/json")


def make_app(release: anyio.Event | None = None) -> GzipMiddleware:
    async def live(request: Request) -> Response:
        # A stream of unknown length whose second piece waits for the client to have read
        # the first: it only ends if the first piece left the compressor on its own.
        assert release is not None

        async def gen() -> AsyncIterator[bytes]:
            yield b'{"first": "piece", '
            await release.wait()
            yield b'"second": "piece"}'

        return StreamingResponse(gen(), media_type="application/json")

    routes = [
        Route("/big", big_json, methods=["GET", "HEAD", "POST"]),
        Route("/small", small_json),
        Route("/varies", varies),
        Route("/tile.glb", tile),
        Route("/streamed", streamed_known_length),
        Route("/partial", partial),
        Route("/encoded", already_encoded),
        Route("/accel", accel),
        Route("/api/v1/uploads/x", upload),
        Route("/live", live),
    ]
    # A low thread threshold: the whole-body JSON is compressed in a worker thread, the
    # 4 KiB pieces of the streamed ones on the loop; both ways are exercised.
    return GzipMiddleware(
        Starlette(routes=routes),
        buffer_bytes=BUFFER_BYTES,
        thread_bytes=THREAD_BYTES,
        excluded_prefixes=("/api/v1/uploads",),
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def raw(
    client: httpx.AsyncClient, path: str, accept: str | None = "gzip", method: str = "GET"
) -> tuple[httpx.Response, bytes]:
    """The response and its body exactly as sent (httpx would decode gzip)."""
    headers = {"Accept-Encoding": accept} if accept is not None else {}
    request = client.build_request(method, path, headers=headers)
    if accept is None:
        request.headers.pop("accept-encoding", None)
    response = await client.send(request, stream=True)
    body = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    return response, body


async def test_large_json_is_gzipped_with_its_headers_rewritten(client: httpx.AsyncClient) -> None:
    response, body = await raw(client, "/big")
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == BIG
    assert int(response.headers["content-length"]) == len(body) < len(BIG) // 3
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["etag"] == f"W/{STRONG}"
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers["content-type"] == "application/json"


async def test_vary_keeps_what_the_app_said(client: httpx.AsyncClient) -> None:
    for accept in ("gzip", None):
        response, _ = await raw(client, "/varies", accept)
        assert response.headers["vary"] == "Origin, Accept-Encoding"


@pytest.mark.parametrize("accept", [None, "identity", "br", "gzip;q=0, deflate"])
async def test_a_client_that_does_not_take_gzip_gets_the_plain_body(
    client: httpx.AsyncClient, accept: str | None
) -> None:
    response, body = await raw(client, "/big", accept)
    assert "content-encoding" not in response.headers
    assert body == BIG
    assert response.headers["etag"] == STRONG
    # The answer depends on Accept-Encoding all the same: a shared cache must know.
    assert response.headers["vary"] == "Accept-Encoding"


async def test_head_and_post(client: httpx.AsyncClient) -> None:
    head, body = await raw(client, "/big", method="HEAD")
    assert "content-encoding" not in head.headers
    assert head.headers["content-length"] == str(len(BIG))
    assert body == b""
    post, body = await raw(client, "/big", method="POST")
    assert post.headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == BIG


@pytest.mark.parametrize(
    "path", ["/small", "/tile.glb", "/partial", "/encoded", "/accel", "/api/v1/uploads/x"]
)
async def test_left_alone_byte_for_byte(client: httpx.AsyncClient, path: str) -> None:
    plain, plain_body = await raw(client, path, accept=None)
    response, body = await raw(client, path, accept="gzip, deflate, br")
    assert body == plain_body
    assert response.headers.get("content-encoding") == plain.headers.get("content-encoding")
    assert "vary" not in response.headers
    assert response.headers.get("content-length") == plain.headers.get("content-length")


async def test_a_tile_keeps_its_range_header(client: httpx.AsyncClient) -> None:
    response, body = await raw(client, "/tile.glb", accept="gzip")
    assert body == GLB
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == "model/gltf-binary"


async def test_a_streamed_body_of_known_length_is_compressed_whole(
    client: httpx.AsyncClient,
) -> None:
    response, body = await raw(client, "/streamed")
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == BIG
    assert response.headers["content-length"] == str(len(body))
    assert response.headers["etag"] == f"W/{STRONG}"
    # Ranges would count the compressed bytes: the claim goes with the plain body.
    assert "accept-ranges" not in response.headers


async def test_a_body_longer_than_the_buffer_streams_compressed(
    client: httpx.AsyncClient,
) -> None:
    times = BUFFER_BYTES // len(BIG) + 3
    response, body = await raw(client, f"/streamed?times={times}")
    assert response.headers["content-encoding"] == "gzip"
    assert "content-length" not in response.headers  # chunked: its length is not known ahead
    assert gzip.decompress(body) == BIG * times


@contextlib.asynccontextmanager
async def serving(app: GzipMiddleware) -> AsyncIterator[str]:
    async with on_loopback(app) as port:
        yield f"http://127.0.0.1:{port}"


async def test_a_stream_of_unknown_length_is_not_held_back() -> None:
    release = anyio.Event()
    async with (
        serving(make_app(release)) as base,
        httpx.AsyncClient(base_url=base, timeout=60) as client,
    ):
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        text = b""
        # The bound only ends a test that would otherwise hang: a held-back first piece
        # means the app never sends the second.
        with anyio.fail_after(60):
            headers = {"Accept-Encoding": "gzip"}
            async with client.stream("GET", "/live", headers=headers) as response:
                assert response.headers["content-encoding"] == "gzip"
                async for chunk in response.aiter_raw():
                    text += decoder.decompress(chunk)
                    if b'"first": "piece"' in text:
                        release.set()
        assert json.loads(text + decoder.flush()) == {"first": "piece", "second": "piece"}
