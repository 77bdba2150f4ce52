"""Test factories as plain functions, for every domain's tests.

``await register_and_sign_in(client)`` gives a fresh user (with a personal workspace) and
the headers to act as them. Domains add their objects to ``OBJECT_FACTORIES`` (see below)
so the cross-tenant and unauthenticated-route tests cover their routes automatically.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

DEFAULT_PASSWORD = "correct horse battery staple 42"
_counter = itertools.count()

Headers = dict[str, str]


async def poll_status(
    client: httpx.AsyncClient,
    headers: Headers,
    url: str,
    finals: frozenset[str],
    within: float,
) -> dict[str, Any]:
    """GET ``url`` until its ``status`` is one of ``finals``; a functional bound on the wait,
    not a benchmark."""
    deadline = time.monotonic() + within
    while True:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in finals:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} still {body['status']} after {within}s: {body}")
        await asyncio.sleep(0.1)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:8]}@example.com"


async def register(
    client: httpx.AsyncClient,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    display_name: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"email": email or unique_email(), "password": password}
    if display_name is not None:
        body["display_name"] = display_name
    response = await client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD
) -> dict[str, Any]:
    """The token response: access_token, refresh_token, token_type, expires_in."""
    response = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


async def register_and_sign_in(
    client: httpx.AsyncClient,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
) -> tuple[dict[str, Any], Headers]:
    """(user json incl. personal_workspace_id, Authorization headers)."""
    user = await register(client, email=email, password=password)
    tokens = await sign_in(client, user["email"], password)
    return user, bearer(tokens["access_token"])


async def create_workspace(
    client: httpx.AsyncClient, headers: Headers, name: str = "Team"
) -> dict[str, Any]:
    response = await client.post("/api/v1/workspaces", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    workspace: dict[str, Any] = response.json()
    return workspace


async def add_member(
    client: httpx.AsyncClient,
    owner_headers: Headers,
    workspace_id: str,
    email: str,
    role: str = "viewer",
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/workspaces/{workspace_id}/members",
        json={"email": email, "role": role},
        headers=owner_headers,
    )
    assert response.status_code == 201, response.text
    member: dict[str, Any] = response.json()
    return member


async def create_api_key(
    client: httpx.AsyncClient,
    owner_headers: Headers,
    workspace_id: str,
    role: str = "viewer",
    name: str = "ci",
) -> dict[str, Any]:
    """The created key json; ``["key"]`` is the full secret."""
    response = await client.post(
        "/api/v1/api-keys",
        json={"workspace_id": workspace_id, "name": name, "role": role},
        headers=owner_headers,
    )
    assert response.status_code == 201, response.text
    key: dict[str, Any] = response.json()
    return key


# --- The tenancy registry ----------------------------------------------------------------


@dataclass
class Tenant:
    """User A's world for the cross-tenant test: A's client headers, A's team workspace,
    and the ids of A's objects created so far (one per path parameter name)."""

    client: httpx.AsyncClient
    user: dict[str, Any]
    headers: Headers
    workspace_id: str
    ids: dict[str, str] = field(default_factory=dict)

    async def ensure(self, param: str) -> str:
        """The id for ``param`` (e.g. "dataset_id"), creating A's object on first use."""
        if param not in self.ids:
            factory = OBJECT_FACTORIES.get(param)
            if factory is None:
                raise LookupError(
                    f"no factory for path parameter {param!r}: register one in "
                    "tests/factories.py OBJECT_FACTORIES"
                )
            self.ids[param] = await factory(self)
        return self.ids[param]


ObjectFactory = Callable[[Tenant], Awaitable[str]]


async def _workspace_id(tenant: Tenant) -> str:
    return tenant.workspace_id


async def _member_user_id(tenant: Tenant) -> str:
    user = await register(tenant.client)
    await add_member(tenant.client, tenant.headers, tenant.workspace_id, user["email"])
    return str(user["id"])


async def _key_id(tenant: Tenant) -> str:
    key = await create_api_key(tenant.client, tenant.headers, tenant.workspace_id)
    return str(key["id"])


async def _dataset_id(tenant: Tenant) -> str:
    """A small uploaded CSV (its ingest may still run)."""
    response = await tenant.client.post(
        "/api/v1/datasets",
        params={"workspace_id": tenant.workspace_id, "filename": "a.csv"},
        content=b"x,y,z\n1,2,3\n4,5,6\n",
        headers={**tenant.headers, "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 202, response.text
    tenant.ids.setdefault("job_id", str(response.json()["job"]["id"]))
    return str(response.json()["dataset"]["id"])


async def _job_id(tenant: Tenant) -> str:
    await tenant.ensure("dataset_id")
    return tenant.ids["job_id"]


async def _upload_id(tenant: Tenant) -> str:
    response = await tenant.client.post(
        "/api/v1/uploads",
        headers={
            **tenant.headers,
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "100",
            "Upload-Metadata": "workspace_id "
            + base64.b64encode(tenant.workspace_id.encode()).decode(),
        },
    )
    assert response.status_code == 201, response.text
    return str(response.headers["Location"].rsplit("/", 1)[-1])


async def _scene_id(tenant: Tenant) -> str:
    """A scene of a ready dataset (its tiling job may still run)."""
    from tests.scene_api.helpers import create_scene, ready_dataset

    if "dataset_id" in OBJECT_FACTORIES:
        dataset_id = await tenant.ensure("dataset_id")
        from tests.dataset.helpers import wait_for_dataset

        await wait_for_dataset(tenant.client, tenant.headers, dataset_id)
    else:
        dataset = await ready_dataset(tenant.client, tenant.headers, tenant.workspace_id)
        dataset_id = str(dataset["id"])
    created = await create_scene(tenant.client, tenant.headers, dataset_id)
    return str(created["scene"]["id"])


async def _share_link_id(tenant: Tenant) -> str:
    scene_id = await tenant.ensure("scene_id")
    response = await tenant.client.post(
        f"/api/v1/scenes/{scene_id}/share-links", headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _tile_path(tenant: Tenant) -> str:
    """The path of one of A's real tiles (under tiles/), once A's scene is ready."""
    from tests.scene_api.helpers import wait_for_scene

    scene_id = await tenant.ensure("scene_id")
    await wait_for_scene(tenant.client, tenant.headers, scene_id)
    tileset = await tenant.client.get(
        f"/api/v1/scenes/{scene_id}/tileset.json", headers=tenant.headers
    )
    assert tileset.status_code == 200, tileset.text
    stack = [tileset.json()["root"]]
    while stack:
        tile = stack.pop()
        if "content" in tile:
            return str(tile["content"]["uri"]).removeprefix("tiles/")
        stack.extend(tile.get("children", []))
    raise AssertionError("A's tileset has no tile content")


async def _annotation_id(tenant: Tenant) -> str:
    scene_id = await tenant.ensure("scene_id")
    response = await tenant.client.post(
        f"/api/v1/scenes/{scene_id}/annotations",
        json={"text": "A's note", "position": [0, 0, 0]},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _export_format(tenant: Tenant) -> str:
    return "usdz"


# Every path parameter of every /api/v1 route needs an entry: the cross-tenant and
# unauthenticated-route tests fail for a parameter without one. A factory creates one of
# A's objects (through the API, as A) and returns its id; use ``tenant.ensure(...)`` for
# the objects it depends on (a scene's factory ensures "dataset_id" first).
OBJECT_FACTORIES: dict[str, ObjectFactory] = {
    "workspace_id": _workspace_id,
    "user_id": _member_user_id,
    "key_id": _key_id,
    "dataset_id": _dataset_id,
    "job_id": _job_id,
    "upload_id": _upload_id,
    "scene_id": _scene_id,
    "link_id": _share_link_id,
    "path": _tile_path,
    "fmt": _export_format,
    "annotation_id": _annotation_id,
}
