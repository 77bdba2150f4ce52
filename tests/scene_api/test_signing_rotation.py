"""Tile-signing secret rotation (``spatialviz keys rotate tile-signing``) with real signed
URLs through the app: URLs and share links made with the old secret keep working for their
remaining lifetime, new ones use the new secret, and a retired secret opens nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from spatialviz.config import Settings
from spatialviz.kit import keyring
from spatialviz.ops.keys import SKEW_SECONDS, retire_expired, rotate
from spatialviz.signing import signatures
from tests.factories import register_and_sign_in
from tests.scene_api.helpers import ready_scene, signature_of


def _tile_uris(tile: dict[str, Any]) -> Iterator[str]:
    if "content" in tile:
        yield tile["content"]["uri"]
    for child in tile.get("children", []):
        yield from _tile_uris(child)


async def _fetch(client: httpx.AsyncClient, scene_id: str, tileset_url: str) -> list[int]:
    """The tileset and its first tile through the signed URL (fast path and route)."""
    tileset = await client.get(tileset_url)
    if tileset.status_code != 200:
        return [tileset.status_code]
    uri = next(u for u in _tile_uris(tileset.json()["root"]) if u.endswith(".glb"))
    tile = f"/api/v1/scenes/{scene_id}/{uri}?sig={signature_of(tileset_url)}"
    via_route = await client.get(f"{tile}&via=route")
    return [tileset.status_code, (await client.get(tile)).status_code, via_route.status_code]


async def test_old_urls_work_for_their_lifetime_new_ones_use_the_new_secret(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    old_url = scene["tileset_url"]
    made = await client.post(f"/api/v1/scenes/{scene['id']}/share-links", headers=headers)
    assert made.status_code == 201, made.text
    old_share = parse_qs(urlsplit(made.json()["url"]).query)["share"][0]
    assert await _fetch(client, scene["id"], old_url) == [200, 200, 200]

    report = rotate(settings, "tile")
    assert [kid for kid, _ in report.stopped_signing] == [keyring.APP_SECRET_KID]

    # Made before the rotation: still good.
    assert await _fetch(client, scene["id"], old_url) == [200, 200, 200]
    shared = await client.get(f"/api/v1/scenes/{scene['id']}", params={"share": old_share})
    assert shared.status_code == 200, shared.text
    # Made now: signed with the new secret (a different signature), and good.
    fresh = (await client.get(f"/api/v1/scenes/{scene['id']}", headers=headers)).json()
    new_url = fresh["tileset_url"]
    assert signature_of(new_url) != signature_of(old_url)
    assert await _fetch(client, scene["id"], new_url) == [200, 200, 200]

    # After every old tile signature has expired, retiring keeps the old secret for share
    # links only (they last longer); after the longest share link, it goes entirely.
    after_tiles = time.time() + settings.scene_signature_ttl_seconds + SKEW_SECONDS + 1
    assert retire_expired(settings, now=after_tiles).retired == []
    assert keyring.tile_secrets(settings, after_tiles) == [report_secret(settings)]
    assert settings.secret in keyring.tile_secrets(settings, after_tiles, shares=True)
    shared = await client.get(f"/api/v1/scenes/{scene['id']}", params={"share": old_share})
    assert shared.status_code == 200, shared.text


def report_secret(settings: Settings) -> str:
    """The new secret (the one signing now)."""
    return keyring.tile_signing_secret(settings, time.time())


async def test_a_retired_secret_opens_nothing(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    made = await client.post(f"/api/v1/scenes/{scene['id']}/share-links", headers=headers)
    old_share = parse_qs(urlsplit(made.json()["url"]).query)["share"][0]
    rotate(settings, "tile")
    after_all = time.time() + settings.scene_share_link_max_ttl_seconds + SKEW_SECONDS + 1
    retired = retire_expired(settings, now=after_all)
    assert retired.retired == [keyring.APP_SECRET_KID]
    shared = await client.get(f"/api/v1/scenes/{scene['id']}", params={"share": old_share})
    assert shared.status_code == 403, shared.text
    assert shared.json()["code"] == "signature_invalid"
    # The new secret still signs and verifies.
    fresh = (await client.get(f"/api/v1/scenes/{scene['id']}", headers=headers)).json()
    assert await _fetch(client, scene["id"], fresh["tileset_url"]) == [200, 200, 200]


async def test_a_scheduled_secret_verifies_before_it_signs(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    report = rotate(settings, "tile", activate_in_seconds=3600)
    # Still signed with the application secret...
    now_url = (await client.get(f"/api/v1/scenes/{scene['id']}", headers=headers)).json()
    assert keyring.tile_signing_secret(settings, time.time()) == settings.secret
    # ...while a URL another process signs with the new one already verifies here.
    signed = signatures.authenticate(
        signature_of(now_url["tileset_url"]), scene["id"], settings.secret
    )
    later_secret = keyring.tile_signing_secret(settings, time.time() + 3600)
    assert later_secret != settings.secret
    token = signatures.sign(
        scene["id"], "read", signed.expires_at, later_secret, grant=signed.grant,
        generation=signed.generation,
    )  # fmt: skip
    url = f"/api/v1/scenes/{scene['id']}/tileset.json?sig={token}"
    assert await _fetch(client, scene["id"], url) == [200, 200, 200]
    assert report.new_kid is not None
