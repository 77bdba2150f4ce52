"""The signed delivery fast path (``scene.fastpath``): it really answers signed tile and
tileset GETs without the FastAPI route, answers them as the route would, honours
revocation through the in-process cache and through Redis, and passes everything else on.

Every test runs twice: with the in-process cache and with Redis as ``resources.cache``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import FastAPI

from spatialviz.config import Settings
from spatialviz.kit.errors import PROBLEM_JSON
from spatialviz.models.scene import Scene
from spatialviz.scene import delivery
from spatialviz.scene.auth import get_scene_access
from spatialviz.signing import signatures
from tests.factories import register_and_sign_in
from tests.scene_api.helpers import (  # noqa: F401 (fixtures)
    create_scene,
    ready_scene,
    redis_url_both_caches,
    settings_with_lasting_caches,
    signature_of,
)

COUNTER = "spatialviz_scene_fast_path_total"


def _count(app: FastAPI, outcome: str) -> float:
    value = app.state.resources.registry.get_sample_value(COUNTER, {"outcome": outcome})
    return value or 0.0


def _tile_uris(tile: dict[str, Any]) -> Iterator[str]:
    if "content" in tile:
        yield tile["content"]["uri"]
    for child in tile.get("children", []):
        yield from _tile_uris(child)


async def _scene_and_tile(client: httpx.AsyncClient) -> tuple[dict[str, Any], str, Any]:
    """A ready scene (its delivery facts cached by the bearer reads), and a tile URL."""
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    tileset = await client.get(scene["tileset_url"])
    assert tileset.status_code == 200, tileset.text
    uri = next(u for u in _tile_uris(tileset.json()["root"]) if u.endswith(".glb"))
    return (
        scene,
        f"/api/v1/scenes/{scene['id']}/{uri}?sig={signature_of(scene['tileset_url'])}",
        headers,
    )


def _same_headers(fast: httpx.Response, route: httpx.Response) -> None:
    for name in (
        "etag",
        "cache-control",
        "content-type",
        "content-length",
        "accept-ranges",
        "content-security-policy",
        "x-content-type-options",
    ):
        assert fast.headers.get(name) == route.headers.get(name), name
    assert fast.headers["x-request-id"]


async def test_signed_gets_are_answered_without_the_route(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    scene, tile_url, _ = await _scene_and_tile(client)
    # An extra query parameter sends the request to the route (the fast path takes exactly
    # one "sig"): the reference answer.
    route_tile = await client.get(f"{tile_url}&via=route")
    route_tileset = await client.get(f"{scene['tileset_url']}&via=route")

    def route_must_not_run() -> None:
        raise AssertionError("the FastAPI route's access dependency ran")

    app.dependency_overrides[get_scene_access] = route_must_not_run
    try:
        served = _count(app, "served")
        tile = await client.get(tile_url)
        tileset = await client.get(scene["tileset_url"])
        not_modified = await client.get(tile_url, headers={"If-None-Match": tile.headers["etag"]})
    finally:
        app.dependency_overrides.clear()
    assert _count(app, "served") == served + 3

    assert tile.status_code == 200
    assert tile.content == route_tile.content
    assert tile.content[:4] == b"glTF"
    _same_headers(tile, route_tile)
    assert tile.headers["content-type"] == "model/gltf-binary"
    assert "immutable" in tile.headers["cache-control"]

    assert tileset.status_code == 200
    assert tileset.content == route_tileset.content
    _same_headers(tileset, route_tileset)
    assert "max-age=60" in tileset.headers["cache-control"]

    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == tile.headers["etag"]
    # GET only, like the routes: HEAD stays their 405.
    assert (await client.head(tile_url)).status_code == 405


async def test_ranges_bad_signatures_and_missing_files_go_to_the_route(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    scene, tile_url, headers = await _scene_and_tile(client)
    size = len((await client.get(tile_url)).content)
    passed = _count(app, "passed")

    part = await client.get(tile_url, headers={"Range": "bytes=0-9"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 0-9/{size}"
    beyond = await client.get(tile_url, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-type"] == PROBLEM_JSON

    sig = signature_of(tile_url)
    base = tile_url.split("?", 1)[0]
    tampered = sig[:-2] + ("AA" if not sig.endswith("AA") else "BB")
    expired = signatures.sign(
        scene["id"],
        "read",
        1_000,
        settings.secret,
        grant=signatures.Grant(signatures.GrantKind.member, uuid.uuid4()),
    )
    for token, code in [(tampered, "signature_invalid"), (expired, "signature_expired")]:
        response = await client.get(base, params={"sig": token})
        assert response.status_code == 403
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.json()["code"] == code
        assert response.json()["instance"] == base

    # A signature for one scene never opens another.
    other = await create_scene(client, headers, scene["dataset_id"])
    response = await client.get(
        base.replace(scene["id"], other["scene"]["id"]), params={"sig": sig}
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON

    # A tile the scene does not have: the route's 404 problem+json.
    missing = await client.get(base.rsplit("/", 1)[0] + "/no-such-tile.glb", params={"sig": sig})
    assert missing.status_code == 404
    assert missing.json()["code"] == "tile_not_found"
    # Ranges never enter the fast path; the other four were looked at and passed on.
    assert _count(app, "passed") == passed + 4


async def test_revocation_is_honoured_through_the_fast_path(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    scene, _, headers = await _scene_and_tile(client)
    link = await client.post(f"/api/v1/scenes/{scene['id']}/share-links", headers=headers)
    token = parse_qs(urlsplit(link.json()["url"]).query)["share"][0]
    shared = await client.get(f"/api/v1/scenes/{scene['id']}", params={"share": token})
    shared_tileset = shared.json()["tileset_url"]

    served = _count(app, "served")
    assert (await client.get(shared_tileset)).status_code == 200
    assert (await client.get(scene["tileset_url"])).status_code == 200
    assert _count(app, "served") == served + 2  # both through the fast path, cached facts

    # Revoking the share link kills the tile URLs minted through it at once...
    revoked = await client.delete(
        f"/api/v1/scenes/{scene['id']}/share-links/{link.json()['id']}", headers=headers
    )
    assert revoked.status_code == 204
    response = await client.get(shared_tileset)
    assert response.status_code == 403
    assert response.json()["code"] == "signature_revoked"
    # ... and the route re-filled the cache: other signatures are fast again.
    served = _count(app, "served")
    assert (await client.get(scene["tileset_url"])).status_code == 200
    assert _count(app, "served") == served + 1
    assert (await client.get(shared_tileset)).status_code == 403  # revoked, from the cache

    # A generation bump (what "revoke every URL of this scene" does) is seen at once too.
    resources = app.state.resources
    async with resources.sessions() as session:
        row = await session.get(Scene, uuid.UUID(scene["id"]))
        assert row is not None
        row.signature_generation += 1
        await delivery.forget_delivery(session, resources.cache, row.id)
        await session.commit()
    response = await client.get(scene["tileset_url"])
    assert response.status_code == 403
    assert response.json()["code"] == "signature_revoked"
    assert (await client.get(scene["tileset_url"])).status_code == 403  # cached, still dead


async def test_a_cached_record_of_an_older_format_is_a_miss(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    scene, tile_url, _ = await _scene_and_tile(client)
    resources = app.state.resources
    key = delivery.delivery_key(uuid.UUID(scene["id"]))
    current = await resources.cache.get(key)
    assert current is not None
    assert delivery.Delivery.from_bytes(current) is not None
    # The record as code before the format field wrote it (no "format").
    old = {k: v for k, v in json.loads(current).items() if k != "format"}
    await resources.cache.set(key, json.dumps(old).encode(), 60)

    passed, served = _count(app, "passed"), _count(app, "served")
    tile = await client.get(tile_url)
    assert tile.status_code == 200  # the route read the facts from the database...
    assert _count(app, "passed") == passed + 1
    assert _count(app, "served") == served
    refreshed = await resources.cache.get(key)
    assert refreshed is not None
    assert delivery.Delivery.from_bytes(refreshed) is not None  # ...and cached them anew
    assert (await client.get(tile_url)).status_code == 200
    assert _count(app, "served") == served + 1
