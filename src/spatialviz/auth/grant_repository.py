"""The database side of tile grants (:mod:`spatialviz.auth.grants`): the state of each
membership, API key and share link a signature can be minted from."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.models.api_key import ApiKey
from spatialviz.models.scene import Scene, ShareLink
from spatialviz.models.user import User
from spatialviz.models.workspace import Membership, Role


class TileGrantRepository:
    """The current state of what tile signatures are minted from (``scene.grants``): one
    small query per grant, read on a cache miss only. Not tenancy-scoped: the signature's
    MAC has already proven which grant it names."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def membership(
        self, workspace_id: uuid.UUID, user_id: uuid.UUID
    ) -> tuple[uuid.UUID, int] | None:
        """(membership id, access generation) of an active person in a workspace."""
        result = await self.session.execute(
            select(Membership.id, Membership.access_generation)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.workspace_id == workspace_id,
                Membership.user_id == user_id,
                User.is_active.is_(True),
            )
        )
        row = result.one_or_none()
        return None if row is None else (row[0], row[1])

    async def member_generation(self, membership_id: uuid.UUID) -> int | None:
        result = await self.session.execute(
            select(Membership.access_generation)
            .join(User, User.id == Membership.user_id)
            .where(Membership.id == membership_id, User.is_active.is_(True))
        )
        return result.scalar_one_or_none()

    async def api_key_state(self, key_id: uuid.UUID) -> tuple[int, datetime | None] | None:
        """(the creator's access generation, the key's expiry) of a live key whose creator
        is still an active member of its workspace."""
        result = await self.session.execute(
            select(Membership.access_generation, ApiKey.expires_at)
            .join(
                Membership,
                (Membership.workspace_id == ApiKey.workspace_id)
                & (Membership.user_id == ApiKey.created_by_id),
            )
            .join(User, User.id == ApiKey.created_by_id)
            .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None), User.is_active.is_(True))
        )
        row = result.one_or_none()
        return None if row is None else (row[0], row[1])

    async def share_link_expiry(self, link_id: uuid.UUID) -> datetime | None:
        """The expiry of an unrevoked link whose creator may still share (an active editor or
        owner of its workspace); None otherwise."""
        result = await self.session.execute(
            select(ShareLink.expires_at)
            .join(
                Membership,
                (Membership.workspace_id == ShareLink.workspace_id)
                & (Membership.user_id == ShareLink.created_by_id),
            )
            .join(User, User.id == ShareLink.created_by_id)
            .where(
                ShareLink.id == link_id,
                ShareLink.revoked_at.is_(None),
                Membership.role.in_([Role.editor, Role.owner]),
                User.is_active.is_(True),
            )
        )
        return result.scalar_one_or_none()

    async def grants_of_user(
        self, user_id: uuid.UUID, workspace_id: uuid.UUID | None = None
    ) -> list[tuple[str, uuid.UUID]]:
        """Every grant whose state depends on this person (in one workspace, or all): their
        memberships, the API keys and share links they made."""
        found: list[tuple[str, uuid.UUID]] = []
        for kind, model, owner in (
            ("m", Membership, Membership.user_id),
            ("k", ApiKey, ApiKey.created_by_id),
            ("s", ShareLink, ShareLink.created_by_id),
        ):
            statement = select(model.id).where(owner == user_id)
            if workspace_id is not None:
                statement = statement.where(model.workspace_id == workspace_id)
            found.extend((kind, i) for i in (await self.session.execute(statement)).scalars())
        return found

    async def grants_of_workspace(self, workspace_id: uuid.UUID) -> list[tuple[str, uuid.UUID]]:
        found: list[tuple[str, uuid.UUID]] = []
        for kind, model in (("m", Membership), ("k", ApiKey), ("s", ShareLink)):
            statement = select(model.id).where(model.workspace_id == workspace_id)
            found.extend((kind, i) for i in (await self.session.execute(statement)).scalars())
        return found

    async def scene_ids_of_workspace(self, workspace_id: uuid.UUID) -> list[uuid.UUID]:
        result = await self.session.execute(
            select(Scene.id).where(Scene.workspace_id == workspace_id)
        )
        return list(result.scalars())
