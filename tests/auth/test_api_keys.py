"""API keys: shown once, stored hashed, one workspace and role, revocable, last use kept."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from spatialviz.models import ApiKey
from tests.factories import (
    add_member,
    bearer,
    create_api_key,
    create_workspace,
    register,
    register_and_sign_in,
    sign_in,
)


async def test_key_lifecycle(client: httpx.AsyncClient, app: FastAPI) -> None:
    user, owner = await register_and_sign_in(client)
    team = await create_workspace(client, owner)
    created = await create_api_key(client, owner, team["id"], role="editor", name="cli")
    full = created["key"]
    assert full.startswith(created["prefix"] + "_")
    assert created["prefix"].startswith("svk_")

    listed = (await client.get("/api/v1/api-keys", headers=owner)).json()["items"]
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0]
    assert listed[0]["last_used_at"] is None
    async with app.state.resources.sessions() as session:
        row = (await session.execute(select(ApiKey))).scalar_one()
        assert full not in (row.key_hash, row.prefix)

    key_headers = bearer(full)
    me = (await client.get("/api/v1/me", headers=key_headers)).json()
    assert me["id"] == user["id"]
    assert me["api_key_id"] == created["id"]
    # The key reaches exactly its workspace, with at most its role.
    assert me["memberships"] == [{"workspace_id": team["id"], "role": "editor"}]
    ws = f"/api/v1/workspaces/{team['id']}"
    assert (await client.get(ws, headers=key_headers)).status_code == 200
    assert (await client.patch(ws, json={"name": "x"}, headers=key_headers)).status_code == 403
    personal = f"/api/v1/workspaces/{user['personal_workspace_id']}"
    assert (await client.get(personal, headers=key_headers)).status_code == 404
    # Keys cannot mint keys or create workspaces (no persistence from a leaked key).
    mint = await client.post(
        "/api/v1/api-keys", json={"workspace_id": team["id"], "name": "x"}, headers=key_headers
    )
    assert mint.status_code == 403
    listed = (await client.get("/api/v1/api-keys", headers=owner)).json()["items"]
    assert listed[0]["last_used_at"] is not None

    revoked = await client.delete(f"/api/v1/api-keys/{created['id']}", headers=owner)
    assert revoked.status_code == 204
    assert (await client.get("/api/v1/me", headers=key_headers)).status_code == 401
    assert (await client.get("/api/v1/api-keys", headers=owner)).json()["items"] == []
    audit = await client.get(
        "/api/v1/audit-events", params={"workspace_id": team["id"]}, headers=owner
    )
    actions = [e["action"] for e in audit.json()["items"]]
    assert {"api_key.created", "api_key.revoked"} <= set(actions)


async def test_only_owners_create_keys_and_keys_follow_membership(
    client: httpx.AsyncClient,
) -> None:
    _, owner = await register_and_sign_in(client)
    team = await create_workspace(client, owner)
    editor_user = await register(client)
    member = await add_member(client, owner, team["id"], editor_user["email"], "owner")
    editor = bearer((await sign_in(client, editor_user["email"]))["access_token"])
    key = await create_api_key(client, editor, team["id"], role="owner")

    # Demoted to viewer: the key's power drops with the membership...
    await client.patch(
        f"/api/v1/workspaces/{team['id']}/members/{member['user_id']}",
        json={"role": "viewer"},
        headers=owner,
    )
    me = (await client.get("/api/v1/me", headers=bearer(key["key"]))).json()
    assert me["memberships"] == [{"workspace_id": team["id"], "role": "viewer"}]
    denied = await client.post(
        "/api/v1/api-keys", json={"workspace_id": team["id"], "name": "x"}, headers=editor
    )
    assert denied.status_code == 403
    # ...and dies with it.
    await client.delete(
        f"/api/v1/workspaces/{team['id']}/members/{member['user_id']}", headers=owner
    )
    assert (await client.get("/api/v1/me", headers=bearer(key["key"]))).status_code == 401


async def test_bad_key_requests(client: httpx.AsyncClient) -> None:
    _, owner = await register_and_sign_in(client)
    team = await create_workspace(client, owner)
    bad = await client.post(
        "/api/v1/api-keys",
        json={"workspace_id": team["id"], "name": "x", "role": "root", "scopes": ["*"]},
        headers=owner,
    )
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert {"body.role", "body.scopes"} <= fields
    assert (await client.get("/api/v1/api-keys", headers=owner)).json()["items"] == []
    fake = await client.get("/api/v1/me", headers=bearer("svk_deadbeef_" + "x" * 40))
    assert fake.status_code == 401
