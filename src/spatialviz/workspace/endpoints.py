"""HTTP routes for workspaces and their members."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from spatialviz.auth.deps import CurrentPrincipal, UserPrincipal
from spatialviz.kit.deps import ResourcesDep, SessionDep
from spatialviz.kit.errors import problem_responses
from spatialviz.kit.pagination import LimitQuery, Page
from spatialviz.kit.ratelimit import client_ip
from spatialviz.kit.tenancy import Principal
from spatialviz.models import Membership, User, Workspace
from spatialviz.workspace import service
from spatialviz.workspace.auth import WorkspaceOwned, WorkspaceReadable
from spatialviz.workspace.schemas import (
    MemberIn,
    MemberOut,
    MemberPatch,
    WorkspaceIn,
    WorkspaceOut,
    WorkspacePatch,
)

router = APIRouter(prefix="/api/v1/workspaces", tags=["workspaces"])


def _out(workspace: Workspace, principal: Principal) -> WorkspaceOut:
    role = principal.role_in(workspace.id)
    assert role is not None
    return WorkspaceOut(
        id=workspace.id,
        name=workspace.name,
        is_personal=workspace.is_personal,
        created_at=workspace.created_at,
        role=role,
    )


def _member(membership: Membership, user: User) -> MemberOut:
    return MemberOut(
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=membership.role,
        joined_at=membership.created_at,
    )


@router.get(
    "",
    response_model=Page[WorkspaceOut],
    summary="Workspaces you belong to",
    responses=problem_responses(401),
)
async def list_workspaces(
    principal: CurrentPrincipal, session: SessionDep, limit: LimitQuery = 100
) -> Page[WorkspaceOut]:
    workspaces = await service.list_workspaces(session, principal, limit=limit)
    return Page[WorkspaceOut](items=[_out(w, principal) for w in workspaces])


@router.post(
    "",
    status_code=201,
    response_model=WorkspaceOut,
    summary="Create a workspace; you become its owner",
    responses=problem_responses(401, 403, 422),
)
async def create_workspace(
    body: WorkspaceIn, principal: UserPrincipal, session: SessionDep
) -> WorkspaceOut:
    workspace = await service.create_workspace(session, name=body.name, owner_id=principal.user_id)
    return WorkspaceOut(
        id=workspace.id,
        name=workspace.name,
        is_personal=False,
        created_at=workspace.created_at,
        role="owner",
    )


@router.get(
    "/{workspace_id}",
    response_model=WorkspaceOut,
    summary="One workspace",
    responses=problem_responses(401, 404),
)
async def get_workspace(workspace: WorkspaceReadable, principal: CurrentPrincipal) -> WorkspaceOut:
    return _out(workspace, principal)


@router.patch(
    "/{workspace_id}",
    response_model=WorkspaceOut,
    summary="Rename a workspace (owners)",
    responses=problem_responses(401, 403, 404, 422),
)
async def update_workspace(
    workspace: WorkspaceOwned,
    body: WorkspacePatch,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> WorkspaceOut:
    if body.name is not None:
        workspace = await service.rename_workspace(session, workspace, body.name)
    return _out(workspace, principal)


@router.delete(
    "/{workspace_id}",
    status_code=204,
    summary="Delete a workspace and everything in it (owners)",
    responses=problem_responses(401, 403, 404, 409),
)
async def delete_workspace(
    workspace: WorkspaceOwned,
    principal: CurrentPrincipal,
    request: Request,
    session: SessionDep,
    resources: ResourcesDep,
) -> Response:
    await service.delete_workspace(
        session, resources.cache, resources.storage, principal, workspace, ip=client_ip(request)
    )
    return Response(status_code=204)


@router.get(
    "/{workspace_id}/members",
    response_model=Page[MemberOut],
    summary="Members and their roles",
    responses=problem_responses(401, 404),
)
async def list_members(
    workspace: WorkspaceReadable, session: SessionDep, limit: LimitQuery = 100
) -> Page[MemberOut]:
    rows = await service.list_members(session, workspace.id, limit=limit)
    return Page[MemberOut](items=[_member(m, u) for m, u in rows])


@router.post(
    "/{workspace_id}/members",
    status_code=201,
    response_model=MemberOut,
    summary="Add a registered person with a role (owners, signed in: not with an API key)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def add_member(
    workspace: WorkspaceOwned,
    body: MemberIn,
    principal: UserPrincipal,
    request: Request,
    session: SessionDep,
) -> MemberOut:
    membership, user = await service.add_member(
        session, principal, workspace.id, email=body.email, role=body.role, ip=client_ip(request)
    )
    return _member(membership, user)


@router.patch(
    "/{workspace_id}/members/{user_id}",
    response_model=MemberOut,
    summary="Change a member's role (owners, signed in: not with an API key)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def change_member_role(
    workspace: WorkspaceOwned,
    user_id: uuid.UUID,
    body: MemberPatch,
    principal: UserPrincipal,
    request: Request,
    session: SessionDep,
    resources: ResourcesDep,
) -> MemberOut:
    membership, user = await service.change_member_role(
        session,
        resources.cache,
        principal,
        workspace.id,
        user_id,
        role=body.role,
        ip=client_ip(request),
    )
    return _member(membership, user)


@router.delete(
    "/{workspace_id}/members/{user_id}",
    status_code=204,
    summary="Remove a member (owners, signed in; a workspace keeps at least one owner)",
    responses=problem_responses(401, 403, 404, 409),
)
async def remove_member(
    workspace: WorkspaceOwned,
    user_id: uuid.UUID,
    principal: UserPrincipal,
    request: Request,
    session: SessionDep,
    resources: ResourcesDep,
) -> Response:
    await service.remove_member(
        session, resources.cache, principal, workspace.id, user_id, ip=client_ip(request)
    )
    return Response(status_code=204)
