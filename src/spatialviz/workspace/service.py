"""Workspaces and memberships: who belongs where, with which role. Never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.audit.service import record_audit
from spatialviz.auth import grants
from spatialviz.auth.grant_repository import TileGrantRepository
from spatialviz.auth.repository import UserRepository
from spatialviz.kit.backup_lease import delete_after_commit
from spatialviz.kit.cache import Cache
from spatialviz.kit.errors import Conflict, NotFound
from spatialviz.kit.storage import BlobStorage
from spatialviz.kit.tenancy import Principal
from spatialviz.models import Membership, Role, User, Workspace
from spatialviz.scene.delivery import forget_delivery
from spatialviz.workspace.repository import MembershipRepository, WorkspaceRepository


class LastOwner(Conflict):
    code = "last_owner"

    def __init__(self) -> None:
        super().__init__("A workspace keeps at least one owner")


class AlreadyMember(Conflict):
    code = "already_member"

    def __init__(self) -> None:
        super().__init__("This person is already a member; change their role instead")


class PersonalWorkspace(Conflict):
    code = "personal_workspace"

    def __init__(self) -> None:
        super().__init__("A personal workspace is deleted with its account, not on its own")


async def create_workspace(
    session: AsyncSession, *, name: str, owner_id: uuid.UUID, personal: bool = False
) -> Workspace:
    workspace = await WorkspaceRepository(session).add(
        Workspace(name=name, is_personal=personal, created_by_id=owner_id)
    )
    await MembershipRepository(session).add(
        Membership(workspace_id=workspace.id, user_id=owner_id, role=Role.owner)
    )
    return workspace


async def list_workspaces(
    session: AsyncSession, principal: Principal, *, limit: int
) -> Sequence[Workspace]:
    return await WorkspaceRepository(session).list(principal, limit=limit)


async def rename_workspace(session: AsyncSession, workspace: Workspace, name: str) -> Workspace:
    workspace.name = name
    await session.flush()
    return workspace


async def delete_workspace(
    session: AsyncSession,
    cache: Cache,
    storage: BlobStorage,
    principal: Principal,
    workspace: Workspace,
    *,
    ip: str | None,
) -> None:
    if workspace.is_personal:
        raise PersonalWorkspace()
    # Its memberships, keys, links and scenes go with it (cascade): cached facts about them
    # must not outlive the commit, or a signature would keep opening tiles for seconds.
    found = TileGrantRepository(session)
    await grants.forget_grants(session, cache, await found.grants_of_workspace(workspace.id))
    for scene_id in await found.scene_ids_of_workspace(workspace.id):
        await forget_delivery(session, cache, scene_id)
    await record_audit(
        session,
        workspace_id=workspace.id,
        actor_id=principal.user_id,
        api_key_id=principal.api_key_id,
        action="workspace.deleted",
        target_type="workspace",
        target_id=workspace.id,
        details={"name": workspace.name},
        ip=ip,
    )
    await WorkspaceRepository(session).delete(workspace)
    # Every dataset's and scene's blobs live under the workspace's prefix: without this the
    # rows went and the files stayed. Deferred while a backup runs, as any delete.
    delete_after_commit(session, storage, f"workspaces/{workspace.id}")


async def list_members(
    session: AsyncSession, workspace_id: uuid.UUID, *, limit: int
) -> Sequence[tuple[Membership, User]]:
    return await MembershipRepository(session).members(workspace_id, limit=limit)


async def add_member(
    session: AsyncSession,
    principal: Principal,
    workspace_id: uuid.UUID,
    *,
    email: str,
    role: Role,
    ip: str | None,
) -> tuple[Membership, User]:
    user = await UserRepository(session).by_email(email.lower())
    if user is None or not user.is_active:
        # Only registered people can be added; the answer does not say which emails exist
        # beyond what registration already reveals.
        raise NotFound("No account with this email", code="user_not_found")
    memberships = MembershipRepository(session)
    if await memberships.get(workspace_id, user.id) is not None:
        raise AlreadyMember()
    membership = await memberships.add(
        Membership(workspace_id=workspace_id, user_id=user.id, role=role)
    )
    await record_audit(
        session,
        workspace_id=workspace_id,
        actor_id=principal.user_id,
        api_key_id=principal.api_key_id,
        action="member.added",
        target_type="user",
        target_id=user.id,
        details={"role": role.value},
        ip=ip,
    )
    return membership, user


async def change_member_role(
    session: AsyncSession,
    cache: Cache,
    principal: Principal,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    role: Role,
    ip: str | None,
) -> tuple[Membership, User]:
    memberships = MembershipRepository(session)
    found = await memberships.get_with_user(workspace_id, user_id)
    if found is None:
        raise NotFound("Member not found")
    membership, user = found
    if (
        membership.role == Role.owner
        and role != Role.owner
        and await memberships.count_owners(workspace_id) <= 1
    ):
        raise LastOwner()
    previous = membership.role
    if role != previous:
        membership.role = role
        # Tile signatures minted from the old role (and this person's keys here) end.
        membership.access_generation += 1
        await session.flush()
        await grants.forget_user_grants(session, cache, user_id, workspace_id)
    await record_audit(
        session,
        workspace_id=workspace_id,
        actor_id=principal.user_id,
        api_key_id=principal.api_key_id,
        action="member.role_changed",
        target_type="user",
        target_id=user_id,
        details={"from": previous.value, "to": role.value},
        ip=ip,
    )
    return membership, user


async def remove_member(
    session: AsyncSession,
    cache: Cache,
    principal: Principal,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    ip: str | None,
) -> None:
    memberships = MembershipRepository(session)
    membership = await memberships.get(workspace_id, user_id)
    if membership is None:
        raise NotFound("Member not found")
    if membership.role == Role.owner and await memberships.count_owners(workspace_id) <= 1:
        raise LastOwner()
    await grants.forget_user_grants(session, cache, user_id, workspace_id)
    await memberships.remove(workspace_id, user_id)
    await record_audit(
        session,
        workspace_id=workspace_id,
        actor_id=principal.user_id,
        api_key_id=principal.api_key_id,
        action="member.removed",
        target_type="user",
        target_id=user_id,
        details={"role": membership.role.value},
        ip=ip,
    )
