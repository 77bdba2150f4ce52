"""Workspaces and members: viewers read, editors edit, owners manage members and deletion."""

from __future__ import annotations

from pathlib import Path

import httpx

from spatialviz.config import Settings
from tests.factories import (
    add_member,
    bearer,
    create_workspace,
    register,
    register_and_sign_in,
    sign_in,
)
from tests.scene_api.helpers import create_scene, ready_dataset


async def test_create_list_rename_delete(client: httpx.AsyncClient) -> None:
    user, headers = await register_and_sign_in(client)
    team = await create_workspace(client, headers, "Survey team")
    assert team["role"] == "owner"
    listed = (await client.get("/api/v1/workspaces", headers=headers)).json()["items"]
    assert {w["id"] for w in listed} == {team["id"], user["personal_workspace_id"]}

    renamed = await client.patch(
        f"/api/v1/workspaces/{team['id']}", json={"name": "Renamed"}, headers=headers
    )
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Renamed"
    unknown = await client.patch(
        f"/api/v1/workspaces/{team['id']}", json={"title": "x"}, headers=headers
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "body.title"

    personal = await client.delete(
        f"/api/v1/workspaces/{user['personal_workspace_id']}", headers=headers
    )
    assert personal.status_code == 409
    assert (
        await client.delete(f"/api/v1/workspaces/{team['id']}", headers=headers)
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/workspaces/{team['id']}", headers=headers)
    ).status_code == 404
    events = (
        await client.get(
            "/api/v1/audit-events", params={"action": "workspace.deleted"}, headers=headers
        )
    ).json()["items"]
    # The workspace is gone; its owner's other workspaces do not show its events, but the
    # record survives in the table (checked in the audit tests).
    assert events == []


async def test_deleting_a_workspace_removes_its_files(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """A deleted workspace's datasets and scenes leave no file behind (the rows went with
    a cascade; the files used to stay)."""
    _, headers = await register_and_sign_in(client)
    team = await create_workspace(client, headers, "Short-lived")
    dataset = await ready_dataset(client, headers, team["id"])
    await create_scene(client, headers, dataset["id"])
    files = Path(settings.storage_url.removeprefix("file://")) / "workspaces" / team["id"]
    assert any(p.is_file() for p in files.rglob("*")), "the workspace stored nothing"
    deleted = await client.delete(f"/api/v1/workspaces/{team['id']}", headers=headers)
    assert deleted.status_code == 204
    assert not files.exists() or not any(p.is_file() for p in files.rglob("*"))


async def test_roles_viewer_editor_owner(client: httpx.AsyncClient) -> None:
    _, owner = await register_and_sign_in(client)
    team = await create_workspace(client, owner)
    viewer_user = await register(client)
    editor_user = await register(client)
    await add_member(client, owner, team["id"], viewer_user["email"], "viewer")
    await add_member(client, owner, team["id"], editor_user["email"], "editor")
    viewer = bearer((await sign_in(client, viewer_user["email"]))["access_token"])
    editor = bearer((await sign_in(client, editor_user["email"]))["access_token"])
    ws = f"/api/v1/workspaces/{team['id']}"

    for headers in (viewer, editor):
        assert (await client.get(ws, headers=headers)).status_code == 200
        members = (await client.get(f"{ws}/members", headers=headers)).json()["items"]
        assert len(members) == 3
        assert (await client.patch(ws, json={"name": "x"}, headers=headers)).status_code == 403
        assert (await client.delete(ws, headers=headers)).status_code == 403
        add = await client.post(
            f"{ws}/members", json={"email": "x@example.com", "role": "owner"}, headers=headers
        )
        assert add.status_code == 403
        assert add.json()["code"] == "insufficient_role"

    # Owners change roles; the last owner cannot leave or be demoted.
    promoted = await client.patch(
        f"{ws}/members/{editor_user['id']}", json={"role": "owner"}, headers=owner
    )
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "owner"
    assert (await client.patch(ws, json={"name": "by editor"}, headers=editor)).status_code == 200
    removed = await client.delete(f"{ws}/members/{viewer_user['id']}", headers=owner)
    assert removed.status_code == 204
    assert (await client.get(ws, headers=viewer)).status_code == 404

    me = (await client.get("/api/v1/me", headers=owner)).json()
    owner_id = me["id"]
    assert (
        await client.delete(f"{ws}/members/{editor_user['id']}", headers=owner)
    ).status_code == 204
    last = await client.delete(f"{ws}/members/{owner_id}", headers=owner)
    assert last.status_code == 409
    assert last.json()["code"] == "last_owner"

    actions = [
        e["action"]
        for e in (
            await client.get(
                "/api/v1/audit-events", params={"workspace_id": team["id"]}, headers=owner
            )
        ).json()["items"]
    ]
    assert actions.count("member.added") == 2
    assert "member.role_changed" in actions
    assert actions.count("member.removed") == 2


async def test_adding_twice_or_unknown_people(client: httpx.AsyncClient) -> None:
    _, owner = await register_and_sign_in(client)
    team = await create_workspace(client, owner)
    other = await register(client)
    await add_member(client, owner, team["id"], other["email"])
    again = await client.post(
        f"/api/v1/workspaces/{team['id']}/members",
        json={"email": other["email"], "role": "editor"},
        headers=owner,
    )
    assert again.status_code == 409
    nobody = await client.post(
        f"/api/v1/workspaces/{team['id']}/members",
        json={"email": "nobody@example.com"},
        headers=owner,
    )
    assert nobody.status_code == 404
    bad = await client.post(
        f"/api/v1/workspaces/{team['id']}/members",
        json={"email": other["email"], "role": "admin"},
        headers=owner,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.role"


async def test_audit_events_are_for_owners_only(client: httpx.AsyncClient) -> None:
    _, owner = await register_and_sign_in(client)
    team = await create_workspace(client, owner)
    viewer_user = await register(client)
    await add_member(client, owner, team["id"], viewer_user["email"], "viewer")
    viewer = bearer((await sign_in(client, viewer_user["email"]))["access_token"])
    denied = await client.get(
        "/api/v1/audit-events", params={"workspace_id": team["id"]}, headers=viewer
    )
    assert denied.status_code == 403
    # Without a filter a viewer sees only events of workspaces they own (their own).
    seen = (await client.get("/api/v1/audit-events", headers=viewer)).json()["items"]
    assert all(e["workspace_id"] == viewer_user["personal_workspace_id"] for e in seen)


async def test_audit_pagination(client: httpx.AsyncClient) -> None:
    user, headers = await register_and_sign_in(client)
    for _ in range(4):
        await sign_in(client, user["email"])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/audit-events", params=params, headers=headers)).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6  # registered + 5 sign-ins
