"""All SQL for workspaces and memberships. Workspaces are read through the caller's
memberships only, so a workspace the caller is not in does not exist (404)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.kit.tenancy import Principal
from spatialviz.models import Membership, Role, User, Workspace


class WorkspaceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def scoped(self, principal: Principal, at_least: Role = Role.viewer) -> Select[Workspace]:
        return select(Workspace).where(Workspace.id.in_(principal.workspace_ids(at_least)))

    async def get(
        self, principal: Principal, workspace_id: uuid.UUID, at_least: Role = Role.viewer
    ) -> Workspace | None:
        result = await self.session.execute(
            self.scoped(principal, at_least).where(Workspace.id == workspace_id)
        )
        return result.scalar_one_or_none()

    async def list(self, principal: Principal, *, limit: int) -> Sequence[Workspace]:
        result = await self.session.execute(
            self.scoped(principal).order_by(Workspace.created_at, Workspace.id).limit(limit)
        )
        return result.scalars().all()

    async def add(self, workspace: Workspace) -> Workspace:
        self.session.add(workspace)
        await self.session.flush()
        return workspace

    async def delete(self, workspace: Workspace) -> None:
        await self.session.delete(workspace)
        await self.session.flush()


class MembershipRepository:
    """Memberships of one workspace; callers have checked the workspace is reachable."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, membership: Membership) -> Membership:
        self.session.add(membership)
        await self.session.flush()
        return membership

    async def members(
        self, workspace_id: uuid.UUID, *, limit: int
    ) -> Sequence[tuple[Membership, User]]:
        result = await self.session.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.workspace_id == workspace_id)
            .order_by(Membership.created_at, Membership.id)
            .limit(limit)
        )
        return [(m, u) for m, u in result.all()]

    async def get(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
        result = await self.session.execute(
            select(Membership).where(
                Membership.workspace_id == workspace_id, Membership.user_id == user_id
            )
        )
        return result.scalar_one_or_none()

    async def get_with_user(
        self, workspace_id: uuid.UUID, user_id: uuid.UUID
    ) -> tuple[Membership, User] | None:
        result = await self.session.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.workspace_id == workspace_id, Membership.user_id == user_id)
        )
        row = result.one_or_none()
        return None if row is None else (row[0], row[1])

    async def count_owners(self, workspace_id: uuid.UUID) -> int:
        result = await self.session.execute(
            select(func.count())
            .select_from(Membership)
            .where(Membership.workspace_id == workspace_id, Membership.role == Role.owner)
        )
        return int(result.scalar_one())

    async def remove(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(Membership).where(
                Membership.workspace_id == workspace_id, Membership.user_id == user_id
            )
        )
        await self.session.flush()
