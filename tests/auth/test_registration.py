"""Bad input gets a clear 4xx problem+json naming the field, and leaves nothing behind."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from spatialviz.kit.errors import PROBLEM_JSON
from spatialviz.models import Membership, User, Workspace
from tests.factories import DEFAULT_PASSWORD, register, unique_email


async def _counts(app: FastAPI) -> tuple[int, int, int]:
    async with app.state.resources.sessions() as session:
        return tuple(
            [
                (await session.execute(select(func.count()).select_from(model))).scalar_one()
                for model in (User, Workspace, Membership)
            ]
        )


async def test_registration_creates_user_and_personal_workspace(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    user = await register(client, display_name="Ada")
    assert user["display_name"] == "Ada"
    assert "password" not in str(user)
    assert await _counts(app) == (1, 1, 1)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"email": "not-an-email", "password": DEFAULT_PASSWORD}, 422, "body.email"),
        ({"email": "a@", "password": DEFAULT_PASSWORD}, 422, "body.email"),
        ({"email": "ok@example.com", "password": "short"}, 422, "body.password"),
        ({"email": "ok@example.com", "password": "Password123!"}, 422, "body.password"),
        ({"email": "ok@example.com", "password": "qwertyuiop"}, 422, "body.password"),
        ({"email": "ok@example.com", "password": "1234567890"}, 422, "body.password"),
        ({"email": "ok@example.com", "password": "aaaaaaaaaaaaaa"}, 422, "body.password"),
        ({"email": "okidoki@example.com", "password": "okidoki-2024!"}, 422, "body.password"),
        ({"email": "ok@example.com", "password": "x" * 300}, 422, "body.password"),
        (
            {"email": "ok@example.com", "password": DEFAULT_PASSWORD, "is_admin": True},
            422,
            "body.is_admin",
        ),
        ({"password": DEFAULT_PASSWORD}, 422, "body.email"),
    ],
)
async def test_bad_registration_names_the_field_and_changes_nothing(
    client: httpx.AsyncClient, app: FastAPI, body: dict[str, Any], status: int, field: str
) -> None:
    response = await client.post("/api/v1/auth/register", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert field in [e["field"] for e in problem.get("errors", [])], problem
    assert await _counts(app) == (0, 0, 0)


async def test_duplicate_registration_is_409_case_insensitive(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    email = unique_email()
    await register(client, email=email)
    again = await client.post(
        "/api/v1/auth/register", json={"email": email.upper(), "password": DEFAULT_PASSWORD}
    )
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM_JSON
    assert again.json()["code"] == "email_taken"
    assert await _counts(app) == (1, 1, 1)


async def test_oversized_json_body_is_413(client: httpx.AsyncClient, app: FastAPI) -> None:
    huge = {
        "email": "ok@example.com",
        "password": DEFAULT_PASSWORD,
        "display_name": "x" * 2_000_000,
    }
    response = await client.post("/api/v1/auth/register", json=huge)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_JSON

    async def chunks() -> Any:
        for _ in range(2000):
            yield b" " * 1024

    streamed = await client.post(
        "/api/v1/auth/register", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    assert await _counts(app) == (0, 0, 0)


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
