from __future__ import annotations

import gzip
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from spatialviz.web import CLIENT_ROUTES, IMMUTABLE, RESERVED_PREFIXES, mount_web_client

INDEX = "<!doctype html><title>Spatialviz</title><div id=app></div>"


def built_client_dir(root: Path) -> Path:
    static = root / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text(INDEX)
    (static / "assets" / "main-abc123.js").write_text("console.log('hi')")
    (static / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root / "secret.txt").write_text("outside the static dir")
    return static


async def client_for(static: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()

    @app.get("/api/v1/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    mount_web_client(app, static)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def built(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(built_client_dir(tmp_path)):
        yield c


@pytest.fixture
async def unbuilt(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    empty = tmp_path / "static"
    empty.mkdir()
    async for c in client_for(empty):
        yield c


async def test_root_serves_index(built: httpx.AsyncClient) -> None:
    response = await built.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == INDEX
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "path", ["/login", "/register", "/scenes/0b7f", "/scenes/0b7f?share=tok", "/datasets/x/y"]
)
async def test_client_routes_fall_back_to_index(built: httpx.AsyncClient, path: str) -> None:
    response = await built.get(path)
    assert response.status_code == 200
    assert response.text == INDEX


async def test_head_is_answered(built: httpx.AsyncClient) -> None:
    response = await built.head("/scenes/abc")
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api", "/nope", "/metricsx", "/docsy"])
async def test_other_paths_are_not_the_spa(built: httpx.AsyncClient, path: str) -> None:
    response = await built.get(path)
    assert response.status_code == 404
    assert response.text != INDEX


async def test_api_routes_still_answer(built: httpx.AsyncClient) -> None:
    assert (await built.get("/api/v1/ping")).json() == {"pong": "yes"}


async def test_hashed_assets_are_immutable(built: httpx.AsyncClient) -> None:
    response = await built.get("/assets/main-abc123.js")
    assert response.status_code == 200
    assert response.headers["cache-control"] == IMMUTABLE
    assert "javascript" in response.headers["content-type"]
    assert "etag" in response.headers


@pytest.mark.parametrize(
    "path", ["/assets/missing.js", "/assets/../index.html", "/assets/%2e%2e/%2e%2e/secret.txt"]
)
async def test_assets_stay_inside_the_static_dir(built: httpx.AsyncClient, path: str) -> None:
    response = await built.get(path)
    assert response.status_code == 404 or response.text == INDEX
    assert "outside the static dir" not in response.text


async def test_root_files(built: httpx.AsyncClient) -> None:
    response = await built.get("/favicon.svg")
    assert response.status_code == 200
    assert (await built.get("/robots.txt")).status_code == 404


async def test_unbuilt_client_explains_itself(unbuilt: httpx.AsyncClient) -> None:
    for path in ("/", "/scenes/abc"):
        response = await unbuilt.get(path)
        assert response.status_code == 200
        assert "not built" in response.text
        assert "make run" in response.text


def test_reserved_prefixes_are_never_client_routes() -> None:
    assert not set(CLIENT_ROUTES) & set(RESERVED_PREFIXES)


async def test_the_app_keeps_its_operations_endpoints(client: httpx.AsyncClient) -> None:
    assert (await client.get("/")).headers["content-type"].startswith("text/html")
    assert (await client.get("/livez")).json() == {"status": "ok"}
    assert (await client.get("/openapi.json")).json()["openapi"].startswith("3.1")
    assert (await client.get("/docs")).status_code == 200
    api = await client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert not api.headers["content-type"].startswith("text/html")
    spec = (await client.get("/openapi.json")).json()
    assert "/" not in spec["paths"]


# --- Precompressed files (kit/precompressed.py) ------------------------------------------
# The .br here is a marker, not real brotli: these tests are about which file goes out with
# which headers; tests/test_served_compression.py decodes the real build's files.
SCRIPT = ("export const answer = () => 42;\n" * 200).encode()
BR_MARKER = b"brotli bytes of main-abc123.js"
# mtime=0: the same bytes whenever they are made (gzip stamps the second it compressed).
GZ_SCRIPT = gzip.compress(SCRIPT, mtime=0)


def precompressed_dir(root: Path) -> Path:
    static = built_client_dir(root)
    script = static / "assets" / "main-abc123.js"
    script.write_bytes(SCRIPT)
    (static / "assets" / "main-abc123.js.gz").write_bytes(GZ_SCRIPT)
    (static / "assets" / "main-abc123.js.br").write_bytes(BR_MARKER)
    page = INDEX.encode() * 40
    (static / "index.html").write_bytes(page)
    (static / "index.html.gz").write_bytes(gzip.compress(page, mtime=0))
    return static


@pytest.fixture
async def precompressed(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(precompressed_dir(tmp_path)):
        yield c


async def raw_get(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], method: str = "GET"
) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent (httpx would decode gzip itself)."""
    request = client.build_request(method, path, headers=headers)
    response = await client.send(request, stream=True)
    body = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    return response, body


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("gzip, deflate, br, zstd", "br"),
        ("gzip, deflate", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("identity", None),
        ("", None),
    ],
)
async def test_assets_go_out_as_the_build_compressed_them(
    precompressed: httpx.AsyncClient, accept: str, coding: str | None
) -> None:
    response, body = await raw_get(
        precompressed, "/assets/main-abc123.js", {"Accept-Encoding": accept}
    )
    assert response.status_code == 200
    assert response.headers.get("content-encoding") == coding
    expected = {"br": BR_MARKER, "gzip": GZ_SCRIPT, None: SCRIPT}[coding]
    assert body == expected
    assert response.headers["content-length"] == str(len(expected))
    assert "javascript" in response.headers["content-type"]
    assert response.headers["cache-control"] == IMMUTABLE
    assert response.headers["vary"] == "Accept-Encoding"


async def test_each_coding_has_its_own_etag(precompressed: httpx.AsyncClient) -> None:
    tags = set()
    for accept in ("br", "gzip", "identity"):
        response, _ = await raw_get(
            precompressed, "/assets/main-abc123.js", {"Accept-Encoding": accept}
        )
        tags.add(response.headers["etag"])
    assert len(tags) == 3


async def test_head_says_what_get_sends(precompressed: httpx.AsyncClient) -> None:
    for accept in ("br", "gzip", "identity"):
        got, _ = await raw_get(precompressed, "/assets/main-abc123.js", {"Accept-Encoding": accept})
        head, empty = await raw_get(
            precompressed, "/assets/main-abc123.js", {"Accept-Encoding": accept}, "HEAD"
        )
        assert head.status_code == 200
        assert empty == b""
        for name in ("content-encoding", "content-length", "content-type", "etag", "vary"):
            assert head.headers.get(name) == got.headers.get(name), name


async def test_a_range_gets_the_plain_files_bytes(precompressed: httpx.AsyncClient) -> None:
    response, body = await raw_get(
        precompressed,
        "/assets/main-abc123.js",
        {"Accept-Encoding": "gzip, br", "Range": "bytes=10-19"},
    )
    assert response.status_code == 206
    assert "content-encoding" not in response.headers
    assert body == SCRIPT[10:20]
    assert response.headers["content-range"] == f"bytes 10-19/{len(SCRIPT)}"
    encoded, _ = await raw_get(precompressed, "/assets/main-abc123.js", {"Accept-Encoding": "br"})
    assert encoded.headers["accept-ranges"] == "none"


async def test_a_sibling_older_than_its_source_is_never_sent(tmp_path: Path) -> None:
    static = precompressed_dir(tmp_path)
    script = static / "assets" / "main-abc123.js"
    rebuilt = SCRIPT.replace(b"42", b"43")
    script.write_bytes(rebuilt)
    mtime = script.stat().st_mtime
    for suffix in (".gz", ".br"):
        os.utime(script.with_name(script.name + suffix), (mtime - 60, mtime - 60))
    async for client in client_for(static):
        response, body = await raw_get(
            client, "/assets/main-abc123.js", {"Accept-Encoding": "gzip, br"}
        )
        assert "content-encoding" not in response.headers
        assert body == rebuilt


async def test_index_is_compressed_but_revalidated(precompressed: httpx.AsyncClient) -> None:
    for path in ("/", "/scenes/0b7f"):
        response, body = await raw_get(precompressed, path, {"Accept-Encoding": "gzip"})
        assert response.headers["content-encoding"] == "gzip"
        assert gzip.decompress(body) == INDEX.encode() * 40
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["content-type"].startswith("text/html")


async def test_a_sibling_has_no_url_of_its_own(precompressed: httpx.AsyncClient) -> None:
    for path in ("/assets/main-abc123.js.br", "/assets/main-abc123.js.gz"):
        assert (await precompressed.get(path)).status_code == 404
