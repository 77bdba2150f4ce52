"""Issue 16: API keys cannot escalate (finding 4), audit entries name the key (finding 9),
names refuse control characters and blanks (finding 11), and an administrator can disable
an account (its tokens, keys and refresh tokens stop at once)."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from typer.testing import CliRunner

from spatialviz.cli import app as cli
from spatialviz.config import Settings
from tests.dataset.helpers import csv_bytes, upload, wait_for_dataset
from tests.factories import (
    DEFAULT_PASSWORD,
    add_member,
    bearer,
    create_api_key,
    create_workspace,
    register,
    register_and_sign_in,
)


async def test_an_owner_key_cannot_change_roles(client: httpx.AsyncClient) -> None:
    """A leaked owner key must not make anyone (its holder's own account included) an
    owner: membership changes need a signed-in person."""
    _, owner = await register_and_sign_in(client)
    team = await create_workspace(client, owner)
    key = bearer((await create_api_key(client, owner, team["id"], role="owner"))["key"])
    outsider = await register(client)
    member = await register(client)
    await add_member(client, owner, team["id"], member["email"], "viewer")
    members = f"/api/v1/workspaces/{team['id']}/members"

    promoted = await client.patch(f"{members}/{member['id']}", json={"role": "owner"}, headers=key)
    added = await client.post(
        members, json={"email": outsider["email"], "role": "owner"}, headers=key
    )
    removed = await client.delete(f"{members}/{member['id']}", headers=key)
    for response in (promoted, added, removed):
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "user_session_required"
    roles = {
        m["user_id"]: m["role"] for m in (await client.get(members, headers=owner)).json()["items"]
    }
    assert roles[member["id"]] == "viewer"
    assert outsider["id"] not in roles
    # The key still does what an owner key may (it was not simply broken).
    assert (await client.get(members, headers=key)).status_code == 200


async def test_audit_entries_name_the_key_that_acted(client: httpx.AsyncClient) -> None:
    user, owner = await register_and_sign_in(client)
    workspace = user["personal_workspace_id"]
    created = await create_api_key(client, owner, workspace, role="editor")
    response = await upload(client, owner, workspace, csv_bytes(20))
    dataset = await wait_for_dataset(client, owner, response.json()["dataset"]["id"])
    deleted = await client.delete(
        f"/api/v1/datasets/{dataset['id']}", headers=bearer(created["key"])
    )
    assert deleted.status_code == 204, deleted.text
    events = await client.get(
        "/api/v1/audit-events",
        params={"workspace_id": workspace, "action": "dataset.deleted"},
        headers=owner,
    )
    [event] = events.json()["items"]
    assert event["actor_id"] == user["id"]
    assert event["details"]["api_key_id"] == created["id"]


@pytest.mark.parametrize(
    "name", ["a\x00b", "line\nbreak", "tab\there", "esc\x1b[31m", "bidi\u202etxt", "  ", ""]
)
async def test_names_refuse_control_characters_and_blanks(
    client: httpx.AsyncClient, name: str
) -> None:
    user, headers = await register_and_sign_in(client)
    team = await create_workspace(client, headers)
    attempts: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/v1/workspaces", {"name": name}),
        ("PATCH", f"/api/v1/workspaces/{team['id']}", {"name": name}),
        ("POST", "/api/v1/api-keys", {"workspace_id": team["id"], "name": name}),
    ]
    for method, path, body in attempts:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    registered = await client.post(
        "/api/v1/auth/register",
        json={
            "email": f"n{abs(hash(name))}@example.com",
            "password": DEFAULT_PASSWORD,
            "display_name": name,
        },
    )
    assert registered.status_code == 422
    # Nothing was made.
    listed = (await client.get("/api/v1/workspaces", headers=headers)).json()["items"]
    assert sorted(w["name"] for w in listed) == sorted(
        [f"{user['email'].split('@')[0]}'s workspace", "Team"]
    )


async def test_names_with_ordinary_unicode_are_kept(client: httpx.AsyncClient) -> None:
    _, headers = await register_and_sign_in(client)
    team = await create_workspace(client, headers, "点群 — Équipe 🛰")
    assert team["name"] == "点群 — Équipe 🛰"


async def test_a_disabled_account_stops_at_once_and_can_be_enabled(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, headers = await register_and_sign_in(client)
    tokens = await client.post(
        "/api/v1/auth/token", data={"username": user["email"], "password": DEFAULT_PASSWORD}
    )
    refresh = tokens.json()["refresh_token"]
    key = bearer((await create_api_key(client, headers, user["personal_workspace_id"]))["key"])
    assert (await client.get("/api/v1/me", headers=key)).status_code == 200

    monkeypatch.setenv("SPATIALVIZ_ENV", "test")
    monkeypatch.setenv("SPATIALVIZ_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SPATIALVIZ_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("SPATIALVIZ_SECRET_KEY", settings.secret)
    if settings.redis_url:
        monkeypatch.setenv("SPATIALVIZ_REDIS_URL", settings.redis_url)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli, list(args))

    result = await anyio.to_thread.run_sync(run, "users", "disable", user["email"])
    assert result.exit_code == 0, result.output
    assert user["id"] in result.output
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    assert (await client.get("/api/v1/me", headers=key)).status_code == 401
    again = await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
    assert again.status_code == 401
    sign_in = await client.post(
        "/api/v1/auth/token", data={"username": user["email"], "password": DEFAULT_PASSWORD}
    )
    assert sign_in.status_code == 401

    missing = await anyio.to_thread.run_sync(run, "users", "disable", "nobody@example.com")
    assert missing.exit_code == 1

    result = await anyio.to_thread.run_sync(run, "users", "enable", user["email"])
    assert result.exit_code == 0, result.output
    sign_in = await client.post(
        "/api/v1/auth/token", data={"username": user["email"], "password": DEFAULT_PASSWORD}
    )
    assert sign_in.status_code == 200
    events = await client.get(
        "/api/v1/audit-events",
        params={"workspace_id": user["personal_workspace_id"]},
        headers=bearer(sign_in.json()["access_token"]),
    )
    actions = [e["action"] for e in events.json()["items"]]
    assert {"user.disabled", "user.enabled"} <= set(actions)
