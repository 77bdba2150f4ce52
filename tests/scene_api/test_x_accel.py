"""With ``x_accel_prefix`` and local storage, delivery routes check access and hand the
bytes to nginx (X-Accel-Redirect to the internal location); see deploy/nginx/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from spatialviz.config import Settings
from spatialviz.scene.auth import get_scene_access
from tests.factories import register_and_sign_in
from tests.scene_api.helpers import ready_scene


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"x_accel_prefix": "/_blobs/"})


def _first_tile_uri(tileset: dict[str, Any]) -> str:
    return _first_uri(tileset["root"])


def _first_uri(tile: dict[str, Any]) -> str:
    if "content" in tile:
        uri: str = tile["content"]["uri"]
        return uri
    return next(_first_uri(child) for child in tile.get("children", []))


async def test_tiles_are_handed_to_nginx(client: httpx.AsyncClient, settings: Settings) -> None:
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    storage = Path(settings.storage_url.removeprefix("file://"))

    # tileset.json: headers for nginx to pass on, no body, a key inside the storage dir.
    tileset = await client.get(scene["tileset_url"])
    assert tileset.status_code == 200
    assert tileset.content == b""
    redirect = tileset.headers["x-accel-redirect"]
    assert redirect.startswith("/_blobs/")
    assert redirect.endswith("/tileset.json")
    assert "max-age=60" in tileset.headers["cache-control"]
    assert tileset.headers["content-type"].startswith("application/json")
    assert "accept-ranges" not in tileset.headers  # nginx adds its own

    # A tile, by the signature the client copies onto child URLs.
    uri = _first_tile_uri(json.loads((storage / redirect.removeprefix("/_blobs/")).read_text()))
    sig = scene["tileset_url"].split("?sig=", 1)[1]
    url = f"/api/v1/scenes/{scene['id']}/{uri}?sig={sig}"
    tile = await client.get(url, headers={"Range": "bytes=0-9"})
    assert tile.status_code == 200  # nginx answers the range from the file
    assert tile.content == b""
    key = tile.headers["x-accel-redirect"].removeprefix("/_blobs/")
    assert (storage / key).read_bytes()[:4] == b"glTF"
    assert "immutable" in tile.headers["cache-control"]
    assert tile.headers["content-type"] == "model/gltf-binary"

    again = await client.get(url, headers={"If-None-Match": tile.headers["etag"]})
    assert again.status_code == 304
    assert "x-accel-redirect" not in again.headers

    forged = await client.get(f"/api/v1/scenes/{scene['id']}/{uri}?sig={sig}x")
    assert forged.status_code == 403
    assert "x-accel-redirect" not in forged.headers


async def test_the_fast_path_hands_over_without_touching_storage(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    storage = Path(settings.storage_url.removeprefix("file://"))
    tileset = await client.get(scene["tileset_url"])
    uri = _first_tile_uri(json.loads((storage / _blob(tileset)).read_text()))
    sig = scene["tileset_url"].split("?sig=", 1)[1]
    url = f"/api/v1/scenes/{scene['id']}/{uri}?sig={sig}"

    def route_must_not_run() -> None:
        raise AssertionError("the FastAPI route's access dependency ran")

    app.dependency_overrides[get_scene_access] = route_must_not_run
    try:
        first = await client.get(url)
        assert first.status_code == 200
        assert first.content == b""
        # Gone from storage: the API still only hands the request over (nginx 404s), as
        # it never looks at the file.
        (storage / _blob(first)).unlink()
        again = await client.get(url)
        conditional = await client.get(url, headers={"If-None-Match": first.headers["etag"]})
    finally:
        app.dependency_overrides.clear()
    assert again.status_code == 200
    assert again.headers["x-accel-redirect"] == first.headers["x-accel-redirect"]
    assert again.headers["content-type"] == "model/gltf-binary"
    assert "immutable" in again.headers["cache-control"]
    assert "accept-ranges" not in again.headers
    assert conditional.status_code == 304
    assert "x-accel-redirect" not in conditional.headers


def _blob(response: httpx.Response) -> str:
    return response.headers["x-accel-redirect"].removeprefix("/_blobs/")
