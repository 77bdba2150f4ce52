"""Sign-in, refresh rotation with reuse detection, sign-out, and their audit trail."""

from __future__ import annotations

import asyncio

import httpx

from spatialviz.kit.errors import PROBLEM_JSON
from tests.factories import DEFAULT_PASSWORD, bearer, register, sign_in


async def _audit_actions(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    response = await client.get("/api/v1/audit-events", headers=headers)
    assert response.status_code == 200, response.text
    return [e["action"] for e in response.json()["items"]]


async def test_token_response_shape(client: httpx.AsyncClient) -> None:
    user = await register(client)
    response = await client.post(
        "/api/v1/auth/token", data={"username": user["email"].upper(), "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["refresh_token"].startswith("svr_")
    assert response.headers["cache-control"] == "no-store"


async def test_wrong_password_is_401_and_audited(client: httpx.AsyncClient) -> None:
    user = await register(client)
    bad = await client.post(
        "/api/v1/auth/token", data={"username": user["email"], "password": "wrong password 123"}
    )
    assert bad.status_code == 401
    assert bad.headers["content-type"] == PROBLEM_JSON
    assert bad.json()["code"] == "invalid_credentials"
    unknown = await client.post(
        "/api/v1/auth/token", data={"username": "nobody@example.com", "password": "whatever123"}
    )
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == bad.json()["detail"]
    tokens = await sign_in(client, user["email"])
    actions = await _audit_actions(client, bearer(tokens["access_token"]))
    assert "auth.sign_in_failed" in actions
    assert "auth.signed_in" in actions


async def test_refresh_rotates_and_reuse_revokes_the_family(client: httpx.AsyncClient) -> None:
    user = await register(client)
    first = await sign_in(client, user["email"])

    rotated = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (
        await client.get("/api/v1/me", headers=bearer(second["access_token"]))
    ).status_code == 200

    # The spent token comes back: someone else holds it. The whole family dies.
    reuse = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert reuse.status_code == 401
    assert reuse.json()["code"] == "refresh_token_reused"
    after = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert after.status_code == 401
    # Access tokens of the family stop working at once, not when they expire.
    for access in (first["access_token"], second["access_token"]):
        assert (await client.get("/api/v1/me", headers=bearer(access))).status_code == 401

    # Another session of the same user is untouched, and sees the audit event.
    other = await sign_in(client, user["email"])
    events = (
        await client.get(
            "/api/v1/audit-events",
            params={"action": "auth.refresh_reused"},
            headers=bearer(other["access_token"]),
        )
    ).json()["items"]
    assert len(events) == 1
    assert events[0]["target_id"] == user["id"]


async def test_unknown_refresh_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": "svr_nope"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"


async def test_logout_kills_the_access_token_and_the_family(client: httpx.AsyncClient) -> None:
    user = await register(client)
    tokens = await sign_in(client, user["email"])
    headers = bearer(tokens["access_token"])
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    out = await client.post("/api/v1/auth/logout", headers=headers)
    assert out.status_code == 204
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    again = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert again.status_code == 401


async def test_concurrent_refresh_with_one_token_lets_at_most_one_win(
    client: httpx.AsyncClient,
) -> None:
    user = await register(client)
    tokens = await sign_in(client, user["email"])
    body = {"refresh_token": tokens["refresh_token"]}
    first, second = await asyncio.gather(
        client.post("/api/v1/auth/refresh", json=body),
        client.post("/api/v1/auth/refresh", json=body),
    )
    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [200, 401], (first.text, second.text)
    loser = first if first.status_code == 401 else second
    assert loser.json()["code"] == "refresh_token_reused"
