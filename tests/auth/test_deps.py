"""The dependency helpers other domains build on."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from spatialviz.audit import record_audit
from spatialviz.auth.deps import authenticate_bearer
from spatialviz.kit.errors import Forbidden, NotFound, Unauthorized
from spatialviz.kit.tenancy import Principal, require_role
from spatialviz.models import AuditEvent, Role
from tests.factories import Tenant, create_api_key, create_workspace, register_and_sign_in


def test_require_role_404_then_403() -> None:
    ws = uuid.uuid4()
    principal = Principal(user_id=uuid.uuid4(), roles={ws: Role.editor})
    assert require_role(principal, ws, Role.viewer) is Role.editor
    assert require_role(principal, ws, Role.editor) is Role.editor
    with pytest.raises(Forbidden):
        require_role(principal, ws, Role.owner)
    with pytest.raises(NotFound):
        require_role(principal, uuid.uuid4(), Role.viewer)


async def test_authenticate_bearer_for_websockets(client: httpx.AsyncClient, app: FastAPI) -> None:
    user, headers = await register_and_sign_in(client)
    token = headers["Authorization"].removeprefix("Bearer ")
    key = await create_api_key(client, headers, user["personal_workspace_id"], role="editor")
    resources = app.state.resources
    async with resources.sessions() as session:
        principal = await authenticate_bearer(resources, session, token)
        assert str(principal.user_id) == user["id"]
        assert principal.role_in(uuid.UUID(user["personal_workspace_id"])) is Role.owner
        by_key = await authenticate_bearer(resources, session, key["key"])
        assert by_key.is_api_key
        assert by_key.role_in(uuid.UUID(user["personal_workspace_id"])) is Role.editor
        for bad in ("", "x", token + "x", "svk_nope"):
            with pytest.raises(Unauthorized):
                await authenticate_bearer(resources, session, bad)


async def test_record_audit_survives_workspace_deletion(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    user, headers = await register_and_sign_in(client)
    team = await create_workspace(client, headers)
    async with app.state.resources.sessions() as session:
        await record_audit(
            session,
            workspace_id=uuid.UUID(team["id"]),
            actor_id=uuid.UUID(user["id"]),
            action="dataset.deleted",
            target_type="dataset",
            target_id=uuid.uuid4(),
            details={"name": "scan.laz"},
        )
        await session.commit()
    listed = await client.get(
        "/api/v1/audit-events", params={"workspace_id": team["id"]}, headers=headers
    )
    assert [e["action"] for e in listed.json()["items"]] == ["dataset.deleted"]
    assert (
        await client.delete(f"/api/v1/workspaces/{team['id']}", headers=headers)
    ).status_code == 204
    async with app.state.resources.sessions() as session:
        actions = (
            (
                await session.execute(
                    select(AuditEvent.action).where(
                        AuditEvent.workspace_id == uuid.UUID(team["id"])
                    )
                )
            )
            .scalars()
            .all()
        )
    assert sorted(actions) == ["dataset.deleted", "workspace.deleted"]


async def test_tenant_registry_refuses_unknown_parameters(client: httpx.AsyncClient) -> None:
    user, headers = await register_and_sign_in(client)
    tenant = Tenant(client=client, user=user, headers=headers, workspace_id="x")
    with pytest.raises(LookupError, match="OBJECT_FACTORIES"):
        await tenant.ensure("gizmo_id")
