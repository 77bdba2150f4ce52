"""The scene factories the cross-tenant route tests use create real objects."""

from __future__ import annotations

import httpx

from tests.factories import Tenant, register_and_sign_in


async def test_scene_and_share_link_factories(client: httpx.AsyncClient) -> None:
    user, headers = await register_and_sign_in(client)
    tenant = Tenant(client, user, headers, user["personal_workspace_id"])
    link_id = await tenant.ensure("link_id")
    scene_id = tenant.ids["scene_id"]
    links = await client.get(f"/api/v1/scenes/{scene_id}/share-links", headers=headers)
    assert [link["id"] for link in links.json()] == [link_id]
