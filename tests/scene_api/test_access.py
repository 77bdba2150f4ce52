"""Tile signatures as narrow capabilities (issue 16).

A signature reads one scene's tile bytes for a bounded time and nothing else, and every way
of ending the access it was minted from — member removed, role lowered, API key revoked,
user disabled, share link deleted or expired, scene re-tiled — ends it on the next request,
on the signed fast path (cached grant state, no database read per tile) as on the route.

The revocation test runs with the in-process cache and with Redis, in either test mode.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from spatialviz.auth.service import set_user_disabled
from spatialviz.config import Settings
from spatialviz.kit.db import transaction
from spatialviz.signing import signatures
from tests.factories import Headers, add_member, create_workspace, register_and_sign_in
from tests.scene_api.helpers import (  # noqa: F401 (a fixture)
    fetch_export,
    ready_scene,
    redis_url_both_caches,
    settings_with_lasting_caches,
    signature_of,
    wait_for_scene,
)

COUNTER = "spatialviz_scene_fast_path_total"


def _served(app: FastAPI) -> float:
    registry = app.state.resources.registry
    return registry.get_sample_value(COUNTER, {"outcome": "served"}) or 0.0


def _first_glb(tile: dict[str, Any]) -> str:
    if "content" in tile and tile["content"]["uri"].endswith(".glb"):
        uri: str = tile["content"]["uri"]
        return uri
    for child in tile.get("children", []):
        try:
            return _first_glb(child)
        except LookupError:
            continue
    raise LookupError("no glb")


class Viewer:
    """Fetches a tile with a tileset URL's signature, and says whether the fast path
    answered (the grant's state came from the cache)."""

    def __init__(self, client: httpx.AsyncClient, app: FastAPI, scene_id: str, glb: str) -> None:
        self.client, self.app, self.scene_id, self.glb = client, app, scene_id, glb

    async def tile(self, tileset_url: str) -> httpx.Response:
        return await self.client.get(
            f"/api/v1/scenes/{self.scene_id}/{self.glb}", params={"sig": signature_of(tileset_url)}
        )

    async def works_from_cache(self, tileset_url: str) -> None:
        first = await self.tile(tileset_url)  # the route: reads the grant, caches it
        assert first.status_code == 200, first.text
        before = _served(self.app)
        again = await self.tile(tileset_url)
        assert again.status_code == 200, again.text
        assert _served(self.app) == before + 1, "the fast path should have answered"

    async def refused(self, tileset_url: str) -> None:
        before = _served(self.app)
        response = await self.tile(tileset_url)
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "signature_revoked", response.json()
        assert _served(self.app) == before


async def _tileset_url(client: httpx.AsyncClient, scene_id: str, headers: Headers) -> str:
    response = await client.get(f"/api/v1/scenes/{scene_id}", headers=headers)
    assert response.status_code == 200, response.text
    url: str = response.json()["tileset_url"]
    return url


async def _api_key(client: httpx.AsyncClient, headers: Headers, workspace_id: str) -> str:
    response = await client.post(
        "/api/v1/api-keys",
        json={"workspace_id": workspace_id, "name": "ci", "role": "viewer"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return f"{body['id']} {body['key']}"


async def test_every_revocation_ends_signed_tile_access_at_once(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, owner_headers = await register_and_sign_in(client)
    team = await create_workspace(client, owner_headers, "Team")
    scene = await ready_scene(client, owner_headers, team["id"])
    tileset = (await client.get(scene["tileset_url"])).json()
    viewer = Viewer(client, app, scene["id"], _first_glb(tileset["root"]))

    # Role lowered: an editor's signatures end when they become a viewer.
    editor, editor_headers = await register_and_sign_in(client)
    await add_member(client, owner_headers, team["id"], editor["email"], "editor")
    url = await _tileset_url(client, scene["id"], editor_headers)
    await viewer.works_from_cache(url)
    lowered = await client.patch(
        f"/api/v1/workspaces/{team['id']}/members/{editor['id']}",
        json={"role": "viewer"},
        headers=owner_headers,
    )
    assert lowered.status_code == 200, lowered.text
    await viewer.refused(url)

    # Member removed: a fresh signature (the viewer role still reads) ends with the membership.
    url = await _tileset_url(client, scene["id"], editor_headers)
    await viewer.works_from_cache(url)
    removed = await client.delete(
        f"/api/v1/workspaces/{team['id']}/members/{editor['id']}", headers=owner_headers
    )
    assert removed.status_code == 204
    await viewer.refused(url)
    gone = await client.get(f"/api/v1/scenes/{scene['id']}", headers=editor_headers)
    assert gone.status_code == 404

    # API key revoked.
    key_id, key = (await _api_key(client, owner_headers, team["id"])).split(" ")
    url = await _tileset_url(client, scene["id"], {"Authorization": f"Bearer {key}"})
    await viewer.works_from_cache(url)
    revoked = await client.delete(f"/api/v1/api-keys/{key_id}", headers=owner_headers)
    assert revoked.status_code == 204
    await viewer.refused(url)

    # User disabled (by the administrator: what `spatialviz users disable` runs).
    member, member_headers = await register_and_sign_in(client)
    await add_member(client, owner_headers, team["id"], member["email"], "viewer")
    url = await _tileset_url(client, scene["id"], member_headers)
    await viewer.works_from_cache(url)
    resources = app.state.resources
    async with transaction(resources.sessions) as session:
        await set_user_disabled(session, resources.cache, email=member["email"], disabled=True)
    await viewer.refused(url)
    me = await client.get("/api/v1/me", headers=member_headers)
    assert me.status_code == 401
    # Enabled again, the account signs in anew; what it minted before stays dead.
    async with transaction(resources.sessions) as session:
        await set_user_disabled(session, resources.cache, email=member["email"], disabled=False)
    await viewer.refused(url)

    # Share link deleted.
    made = await client.post(f"/api/v1/scenes/{scene['id']}/share-links", headers=owner_headers)
    link = made.json()
    token = parse_qs(urlsplit(link["url"]).query)["share"][0]
    shared = await client.get(f"/api/v1/scenes/{scene['id']}", params={"share": token})
    url = shared.json()["tileset_url"]
    await viewer.works_from_cache(url)
    deleted = await client.delete(
        f"/api/v1/scenes/{scene['id']}/share-links/{link['id']}", headers=owner_headers
    )
    assert deleted.status_code == 204
    await viewer.refused(url)

    # Scene re-tiled: the owner's signature for the old tileset ends.
    url = await _tileset_url(client, scene["id"], owner_headers)
    await viewer.works_from_cache(url)
    retile = await client.patch(
        f"/api/v1/scenes/{scene['id']}",
        json={"encoding": {"position": {"x": "x", "y": "y", "z": "temperature", "chart_box": {}}}},
        headers=owner_headers,
    )
    assert retile.status_code == 200, retile.text
    assert retile.json()["job"] is not None, "a filter change re-tiles"
    await wait_for_scene(client, owner_headers, scene["id"])
    response = await viewer.tile(url)
    assert response.status_code == 403
    assert response.json()["code"] == "signature_revoked"


async def test_a_signature_reads_tile_bytes_only(client: httpx.AsyncClient) -> None:
    """Findings 1 and 5: a signature opens neither the scene (which would mint a fresh
    signature: a credential renewing itself forever) nor its rows."""
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    sig = signature_of(scene["tileset_url"])
    assert (await client.get(scene["tileset_url"])).status_code == 200

    renewed = await client.get(f"/api/v1/scenes/{scene['id']}", params={"sig": sig})
    assert renewed.status_code == 401
    assert "tileset_url" not in renewed.text
    rows = await client.post(
        f"/api/v1/scenes/{scene['id']}/query", params={"sig": sig}, json={"kind": "pick", "row": 1}
    )
    assert rows.status_code == 401
    # Nor any other route of the scene.
    for method, path in [
        ("GET", f"/api/v1/scenes/{scene['id']}/share-links"),
        ("GET", f"/api/v1/scenes/{scene['id']}/export.glb"),
    ]:
        response = await client.request(method, path, params={"sig": sig})
        assert response.status_code == 401, (path, response.status_code)


async def test_a_removed_member_keeps_nothing(client: httpx.AsyncClient) -> None:
    """Finding 2: signatures minted before removal neither open tiles nor renew nor query."""
    _, owner_headers = await register_and_sign_in(client)
    team = await create_workspace(client, owner_headers, "Team")
    scene = await ready_scene(client, owner_headers, team["id"])
    member, member_headers = await register_and_sign_in(client)
    await add_member(client, owner_headers, team["id"], member["email"], "viewer")
    url = await _tileset_url(client, scene["id"], member_headers)
    assert (await client.get(url)).status_code == 200
    removed = await client.delete(
        f"/api/v1/workspaces/{team['id']}/members/{member['id']}", headers=owner_headers
    )
    assert removed.status_code == 204
    sig = signature_of(url)
    assert (await client.get(url)).status_code == 403
    assert (
        await client.get(f"/api/v1/scenes/{scene['id']}", params={"sig": sig})
    ).status_code == 401
    query = await client.post(
        f"/api/v1/scenes/{scene['id']}/query", params={"sig": sig}, json={"kind": "pick", "row": 1}
    )
    assert query.status_code == 401


async def test_a_share_links_signatures_end_with_the_link(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Finding 3: what a share link mints never outlives the link."""
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    made = await client.post(
        f"/api/v1/scenes/{scene['id']}/share-links",
        json={"expires_in_seconds": 60},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    link_expires = datetime.fromisoformat(made.json()["expires_at"]).timestamp()
    token = parse_qs(urlsplit(made.json()["url"]).query)["share"][0]
    shared = await client.get(f"/api/v1/scenes/{scene['id']}", params={"share": token})
    url = shared.json()["tileset_url"]
    assert (await client.get(url)).status_code == 200
    signed = signatures.authenticate(signature_of(url), scene["id"], settings.secret)
    assert signed.share_id == uuid.UUID(made.json()["id"])
    assert signed.expires_at <= link_expires  # 1 h before the fix
    with pytest.raises(signatures.SignatureExpired):
        signatures.check_current(
            signed, link_expires, generation=signed.generation, grant_generation=0
        )


async def test_a_bad_signature_does_not_tell_whether_the_scene_exists(
    client: httpx.AsyncClient,
) -> None:
    """Finding 7: 403 for a forged signature, for existing and missing scenes alike."""
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    forged = "read.zzzzzz.0.m" + "0" * 32 + ".0.AAAAAAAAAAAAAAAAAAAAAA"
    answers = []
    for scene_id in (scene["id"], str(uuid.uuid4())):
        for path in ("tileset.json", "tiles/0.glb"):
            response = await client.get(f"/api/v1/scenes/{scene_id}/{path}", params={"sig": forged})
            answers.append((response.status_code, response.json()["code"]))
        share = await client.get(f"/api/v1/scenes/{scene_id}", params={"share": "a.b.c.d"})
        answers.append((share.status_code, share.json()["code"]))
    assert set(answers) == {(403, "signature_invalid")}, answers


async def test_an_export_of_a_non_latin1_name_downloads(client: httpx.AsyncClient) -> None:
    """Finding 8: a CJK scene name answered 500 (a header value must be Latin-1)."""
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    renamed = await client.patch(
        f"/api/v1/scenes/{scene['id']}", json={"name": "点群 «scan».csv"}, headers=headers
    )
    assert renamed.status_code == 200, renamed.text
    response = await fetch_export(client, headers, scene["id"], "3tz")
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    assert "filename*=UTF-8''%E7%82%B9%E7%BE%A4%20%C2%ABscan%C2%BB.3tz" in disposition
