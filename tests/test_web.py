from __future__ import annotations

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
