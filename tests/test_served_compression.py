"""What `spatialviz serve` sends on the wire, over a real socket (the `live_server`
fixture: the whole app under uvicorn): the built web client as the build compressed it
(brotli or gzip, decoding to exactly the file on disk), JSON gzipped when the client takes
it, and tiles never content-encoded, on the signed fast path and on the route alike.

The client tests need the real build (`make web`); like the browser tests they skip without
it, and fail instead where CI sets SPATIALVIZ_REQUIRE_BROWSER=1. Brotli is decoded with
Node's zlib, the same library that encoded it (no Python brotli package is installed)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from spatialviz.app import create_app
from spatialviz.config import Settings
from spatialviz.web import IMMUTABLE, STATIC_DIR
from tests.factories import register_and_sign_in
from tests.scene_api.helpers import ready_scene

REQUIRED = os.environ.get("SPATIALVIZ_REQUIRE_BROWSER") == "1"
# Node prints the SHA-256 of each brotli file it decodes, one per line.
BROTLI_DIGESTS = """
const { readFileSync } = require('node:fs');
const { brotliDecompressSync } = require('node:zlib');
const { createHash } = require('node:crypto');
for (const path of process.argv.slice(1)) {
  const plain = brotliDecompressSync(readFileSync(path));
  console.log(createHash('sha256').update(plain).digest('hex'));
}
"""


def _skip_or_fail(reason: str) -> None:
    if REQUIRED:
        pytest.fail(reason)
    pytest.skip(reason)


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        _skip_or_fail("Node.js is needed to decode brotli (it builds the client too)")
    assert node is not None
    return node


def brotli_digests(paths: list[Path]) -> list[str]:
    """SHA-256 of each brotli file's decoded bytes."""
    if not paths:
        return []
    out = subprocess.run(
        [_node(), "-e", BROTLI_DIGESTS, *map(str, paths)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out.stdout.split()


def brotli_decompress_matches(data: bytes, expected: bytes, tmp_path: Path) -> bool:
    encoded = tmp_path / "body.br"
    encoded.write_bytes(data)
    return brotli_digests([encoded]) == [hashlib.sha256(expected).hexdigest()]


@pytest.fixture
def built() -> Path:
    if not (STATIC_DIR / "index.html").is_file():
        _skip_or_fail("the web client is not built (make web)")
    return STATIC_DIR


@pytest.fixture
async def wire(live_server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server, timeout=60) as client:
        yield client


async def raw_get(
    client: httpx.AsyncClient, url: str, accept: str | None, **headers: str
) -> tuple[httpx.Response, bytes]:
    """The response and its body exactly as sent (httpx would decode gzip); no
    Accept-Encoding at all when ``accept`` is None (httpx sends one by default)."""
    request = client.build_request("GET", url, headers=headers)
    if accept is None:
        del request.headers["accept-encoding"]
    else:
        request.headers["accept-encoding"] = accept
    response = await client.send(request, stream=True)
    body = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    return response, body


def main_script(static: Path) -> str:
    """The entry script index.html loads (/assets/index-<hash>.js)."""
    match = re.search(r'<script[^>]+src="(/assets/[^"]+\.js)"', (static / "index.html").read_text())
    assert match is not None, "index.html loads no script"
    return match.group(1)


async def test_the_main_script_in_each_coding(
    built: Path, wire: httpx.AsyncClient, tmp_path: Path
) -> None:
    url = main_script(built)
    on_disk = (built / url.lstrip("/")).read_bytes()
    assert len(on_disk) > 10_000

    br, br_body = await raw_get(wire, url, "gzip, deflate, br, zstd")  # Chromium's header
    gz, gz_body = await raw_get(wire, url, "gzip, deflate")
    plain, plain_body = await raw_get(wire, url, None)

    assert br.headers["content-encoding"] == "br"
    assert brotli_decompress_matches(br_body, on_disk, tmp_path)
    assert gz.headers["content-encoding"] == "gzip"
    assert gzip.decompress(gz_body) == on_disk
    assert "content-encoding" not in plain.headers
    assert plain_body == on_disk
    assert len(br_body) < len(gz_body) < len(on_disk) // 2

    for response, body in ((br, br_body), (gz, gz_body), (plain, plain_body)):
        assert response.status_code == 200
        assert response.headers["content-length"] == str(len(body))
        assert response.headers["content-type"].startswith("text/javascript")
        assert response.headers["cache-control"] == IMMUTABLE
        assert response.headers["vary"] == "Accept-Encoding"
    assert len({br.headers["etag"], gz.headers["etag"], plain.headers["etag"]}) == 3


async def test_index_html_is_revalidated_never_immutable(
    built: Path, wire: httpx.AsyncClient
) -> None:
    for path in ("/", "/scenes/0b7f"):
        response, body = await raw_get(wire, path, "gzip, br")
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-cache"
        assert "immutable" not in response.headers["cache-control"]
        assert response.headers["content-type"].startswith("text/html")
        plain = body
        if response.headers.get("content-encoding") == "gzip":
            plain = gzip.decompress(body)
        assert plain == (built / "index.html").read_bytes()


def _siblings(static: Path, suffix: str) -> Iterator[tuple[Path, Path]]:
    for encoded in sorted(static.rglob(f"*{suffix}")):
        yield encoded.with_name(encoded.name.removesuffix(suffix)), encoded


def test_every_precompressed_file_matches_its_source(built: Path) -> None:
    """The build wrote each pair together: each decodes to its source and is no older."""
    pairs = {suffix: list(_siblings(built, suffix)) for suffix in (".gz", ".br")}
    assert pairs[".gz"], "the build wrote no gzip files"
    assert pairs[".br"], "the build wrote no brotli files"
    for source, encoded in pairs[".gz"] + pairs[".br"]:
        assert source.is_file(), f"{encoded} has no source"
        assert encoded.stat().st_mtime_ns >= source.stat().st_mtime_ns, encoded
    for source, encoded in pairs[".gz"]:
        assert gzip.decompress(encoded.read_bytes()) == source.read_bytes(), encoded
    digests = brotli_digests([encoded for _, encoded in pairs[".br"]])
    for (source, encoded), digest in zip(pairs[".br"], digests, strict=True):
        assert digest == hashlib.sha256(source.read_bytes()).hexdigest(), encoded


async def test_openapi_is_gzipped_when_asked(wire: httpx.AsyncClient) -> None:
    gz, body = await raw_get(wire, "/openapi.json", "gzip")
    plain, plain_body = await raw_get(wire, "/openapi.json", None)
    assert gz.headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == plain_body
    assert len(body) < len(plain_body) // 4
    assert "content-encoding" not in plain.headers
    assert gz.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"


async def test_gzip_can_be_left_to_a_proxy(settings: Settings) -> None:
    """SPATIALVIZ_GZIP_RESPONSES=false: JSON goes out plain, for a proxy to compress."""
    app = create_app(settings.model_copy(update={"gzip_responses": False}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response, body = await raw_get(client, "/openapi.json", "gzip")
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert json.loads(body)["openapi"].startswith("3.1")


def _tile_uris(tile: dict[str, Any]) -> Iterator[str]:
    if "content" in tile:
        yield tile["content"]["uri"]
    for child in tile.get("children", []):
        yield from _tile_uris(child)


async def fast_path_served(client: httpx.AsyncClient) -> float:
    text = (await client.get("/metrics")).text
    match = re.search(r'^spatialviz_scene_fast_path_total\{outcome="served"\} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


def many_points(rows: int = 250_000) -> bytes:
    """Enough points for a tileset of several tiles (a leaf holds up to 80,000), so its
    tileset.json is past the 1 KiB below which nothing is compressed."""
    xyz = np.random.default_rng(7).uniform(0, 100, (rows, 3))
    out = io.StringIO()
    out.write("x,y,z\n")
    np.savetxt(out, xyz, fmt="%.3f", delimiter=",")
    return out.getvalue().encode()


async def test_tileset_is_gzipped_and_tiles_never_are(wire: httpx.AsyncClient) -> None:
    user, headers = await register_and_sign_in(wire)
    scene = await ready_scene(wire, headers, user["personal_workspace_id"], data=many_points())
    signed = scene["tileset_url"]
    sig = signed.split("?", 1)[1]
    # Signed GETs twice: the first may warm the delivery cache (then the route answers it),
    # the second is the fast path's (counted below); the bearer GET is the route's.
    served = await fast_path_served(wire)
    tileset_urls = [signed, signed, f"/api/v1/scenes/{scene['id']}/tileset.json"]
    plain, plain_body = await raw_get(wire, signed, None, **headers)
    assert len(plain_body) > 1024
    for url in tileset_urls:
        gz, body = await raw_get(wire, url, "gzip, deflate, br", **headers)
        assert gz.status_code == 200, body
        assert gz.headers["content-encoding"] == "gzip", url
        assert gzip.decompress(body) == plain_body
        assert gz.headers["content-length"] == str(len(body))
        assert gz.headers["etag"] == f"W/{plain.headers['etag']}"
        assert gz.headers["vary"] == "Accept-Encoding"
        # Revalidating with the weak tag still ends in 304.
        again, _ = await raw_get(
            wire, url, "gzip", **headers, **{"If-None-Match": gz.headers["etag"]}
        )
        assert again.status_code == 304

    uri = next(u for u in _tile_uris(json.loads(plain_body)["root"]) if u.endswith(".glb"))
    tile_url = f"/api/v1/scenes/{scene['id']}/{uri}"
    plain_tile, plain_tile_body = await raw_get(wire, f"{tile_url}?{sig}", None)
    assert plain_tile_body[:4] == b"glTF"
    for url, extra in ((f"{tile_url}?{sig}", {}), (f"{tile_url}?{sig}", {}), (tile_url, headers)):
        tile, body = await raw_get(wire, url, "gzip, deflate, br", **extra)
        assert tile.status_code == 200
        assert "content-encoding" not in tile.headers
        assert "vary" not in tile.headers
        assert body == plain_tile_body
        assert tile.headers["content-type"] == "model/gltf-binary"
        assert tile.headers["content-length"] == str(len(body))
        assert tile.headers["accept-ranges"] == "bytes"
        assert tile.headers["etag"] == plain_tile.headers["etag"]
    assert await fast_path_served(wire) >= served + 2
    ranged, part = await raw_get(wire, f"{tile_url}?{sig}", "gzip, br", Range="bytes=0-99")
    assert ranged.status_code == 206
    assert "content-encoding" not in ranged.headers
    assert part == plain_tile_body[:100]
