from __future__ import annotations

import httpx

from spatialviz.kit.errors import PROBLEM_JSON
from tests.factories import register_and_sign_in


async def test_register_sign_in_me(client: httpx.AsyncClient) -> None:
    user, headers = await register_and_sign_in(client)
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["id"] == user["id"]
    assert body["memberships"] == [{"workspace_id": user["personal_workspace_id"], "role": "owner"}]
    [personal] = body["workspaces"]
    assert personal["id"] == user["personal_workspace_id"]
    assert personal["role"] == "owner"
    assert personal["is_personal"] is True
    assert personal["name"]


async def test_me_without_credentials_is_401_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["www-authenticate"] == "Bearer"
