"""All SQL for identity: users, their memberships, refresh tokens and API keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.kit.db import utcnow
from spatialviz.kit.tenancy import Principal, WorkspaceScopedRepository
from spatialviz.models import ApiKey, Membership, RefreshToken, Role, User, Workspace

API_KEY_LAST_USED_RESOLUTION = timedelta(seconds=60)


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_email(self, email: str) -> User | None:
        result = await self.session.execute(select(User).where(User.email == email))
        return result.scalar_one_or_none()

    async def active_by_id(self, user_id: uuid.UUID) -> User | None:
        result = await self.session.execute(
            select(User).where(User.id == user_id, User.is_active.is_(True))
        )
        return result.scalar_one_or_none()

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        return user

    async def roles_of(self, user_id: uuid.UUID) -> dict[uuid.UUID, Role]:
        result = await self.session.execute(
            select(Membership.workspace_id, Membership.role).where(Membership.user_id == user_id)
        )
        return {workspace_id: role for workspace_id, role in result.all()}

    async def add_personal_workspace(self, user: User, name: str) -> Workspace:
        """The workspace every account comes with, owned by it and deleted with it. Made
        here, with the account, so auth/ needs nothing of workspace/ (which builds on it)."""
        workspace = Workspace(name=name, is_personal=True, created_by_id=user.id)
        self.session.add(workspace)
        await self.session.flush()
        self.session.add(Membership(workspace_id=workspace.id, user_id=user.id, role=Role.owner))
        await self.session.flush()
        return workspace

    async def reachable_workspaces(
        self, principal: Principal, *, limit: int
    ) -> Sequence[Workspace]:
        """The workspaces the caller is a member of (an API key: its one workspace)."""
        result = await self.session.execute(
            select(Workspace)
            .where(Workspace.id.in_(principal.workspace_ids(Role.viewer)))
            .order_by(Workspace.created_at, Workspace.id)
            .limit(limit)
        )
        return result.scalars().all()

    async def personal_workspace_id(self, user_id: uuid.UUID) -> uuid.UUID | None:
        result = await self.session.execute(
            select(Workspace.id)
            .join(Membership, Membership.workspace_id == Workspace.id)
            .where(
                Membership.user_id == user_id,
                Membership.role == Role.owner,
                Workspace.is_personal.is_(True),
                Workspace.created_by_id == user_id,
            )
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def bump_access_generations(self, user_id: uuid.UUID) -> None:
        """Every membership of the person moves on: tile signatures minted from them stay
        dead even if the account is enabled again before they expire."""
        await self.session.execute(
            update(Membership)
            .where(Membership.user_id == user_id)
            .values(access_generation=Membership.access_generation + 1)
            .execution_options(synchronize_session=False)
        )

    async def touch_sign_in(self, user: User) -> None:
        user.last_sign_in_at = utcnow()
        await self.session.flush()


class RefreshTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, token: RefreshToken) -> RefreshToken:
        self.session.add(token)
        await self.session.flush()
        return token

    async def by_hash(self, token_hash: str) -> RefreshToken | None:
        result = await self.session.execute(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        )
        return result.scalar_one_or_none()

    async def mark_used(self, token_id: uuid.UUID, now: datetime) -> bool:
        """Atomically claim a token for rotation; False when someone already used it (two
        concurrent refreshes with one token: exactly one wins, the other is a reuse)."""
        result = await self.session.execute(
            update(RefreshToken)
            .where(
                RefreshToken.id == token_id,
                RefreshToken.used_at.is_(None),
                RefreshToken.revoked_at.is_(None),
            )
            .values(used_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def revoke_all_of_user(self, user_id: uuid.UUID, now: datetime) -> int:
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0))

    async def revoke_family(self, family_id: uuid.UUID, now: datetime) -> int:
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0))


class ApiKeyRepository(WorkspaceScopedRepository[ApiKey]):
    """Keys are workspace-owned; owners see and manage them (``at_least=Role.owner``)."""

    model = ApiKey

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        result = await self.session.execute(select(ApiKey).where(ApiKey.key_hash == key_hash))
        return result.scalar_one_or_none()

    async def creator_role(self, key: ApiKey) -> Role | None:
        """The creator's current role in the key's workspace: a key never outlives or
        outranks the membership of the person who made it."""
        result = await self.session.execute(
            select(Membership.role)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.workspace_id == key.workspace_id,
                Membership.user_id == key.created_by_id,
                User.is_active.is_(True),
            )
        )
        return result.scalar_one_or_none()

    async def record_use(self, key: ApiKey, now: datetime) -> None:
        # Written at most once a minute per key, so a busy key is not a write per request.
        last = key.last_used_at
        if last is None or now - last > API_KEY_LAST_USED_RESOLUTION:
            await self.session.execute(
                update(ApiKey)
                .where(ApiKey.id == key.id)
                .values(last_used_at=now)
                .execution_options(synchronize_session=False)
            )

    async def list_active(
        self, principal: Principal, *, workspace_id: uuid.UUID | None, limit: int
    ) -> Sequence[ApiKey]:
        statement = (
            self.scoped(principal, Role.owner)
            .where(ApiKey.revoked_at.is_(None))
            .order_by(ApiKey.created_at.desc(), ApiKey.id)
        )
        if workspace_id is not None:
            statement = statement.where(ApiKey.workspace_id == workspace_id)
        return await self.list(statement, limit=limit)

    async def count_active(self, workspace_id: uuid.UUID) -> int:
        result = await self.session.execute(
            select(func.count())
            .select_from(ApiKey)
            .where(ApiKey.workspace_id == workspace_id, ApiKey.revoked_at.is_(None))
        )
        return int(result.scalar_one())
