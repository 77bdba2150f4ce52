"""Who is asking, and the one place where tenancy is applied to SQL.

Authentication resolves a :class:`Principal` once per request: the caller's id and the
workspaces it may reach with its role in each (an API key reaches exactly one workspace).
Every repository of a workspace-owned table derives from :class:`WorkspaceScopedRepository`,
whose base statement filters by those workspaces, so no endpoint can forget it; another
workspace's object is simply not found (404).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar, cast

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.kit.errors import Forbidden, NotFound
from spatialviz.kit.roles import Role


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    roles: Mapping[uuid.UUID, Role] = field(default_factory=dict)
    api_key_id: uuid.UUID | None = None
    token_id: str | None = None
    session_id: uuid.UUID | None = None  # the refresh-token family a JWT belongs to
    expires_at: int | None = None  # the JWT's exp (Unix seconds)

    @property
    def is_api_key(self) -> bool:
        return self.api_key_id is not None

    def workspace_ids(self, at_least: Role = Role.viewer) -> list[uuid.UUID]:
        return [ws for ws, role in self.roles.items() if role.allows(at_least)]

    def role_in(self, workspace_id: uuid.UUID) -> Role | None:
        return self.roles.get(workspace_id)

    def can(self, workspace_id: uuid.UUID, needed: Role) -> bool:
        role = self.roles.get(workspace_id)
        return role is not None and role.allows(needed)


class InsufficientRole(Forbidden):
    code = "insufficient_role"
    title = "Insufficient role"


def require_role(principal: Principal, workspace_id: uuid.UUID, needed: Role) -> Role:
    """The principal's role in the workspace, if it is at least ``needed``.

    404 without a membership (the workspace does not exist for this caller), 403 when the
    role is too low (the caller can see the workspace, so saying so leaks nothing)."""
    role = principal.role_in(workspace_id)
    if role is None:
        raise NotFound("Workspace not found")
    if not role.allows(needed):
        raise InsufficientRole(f"This needs the {needed.value} role; you are {role.value}")
    return role


ModelT = TypeVar("ModelT", bound=Any)


class WorkspaceScopedRepository(Generic[ModelT]):
    """All SQL for one workspace-owned model; ``scoped()`` is the tenancy filter."""

    model: ClassVar[type[Any]]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def scoped(self, principal: Principal, at_least: Role = Role.viewer) -> Select[tuple[ModelT]]:
        ids = principal.workspace_ids(at_least)
        statement: Select[tuple[ModelT]] = select(self.model).where(
            self.model.workspace_id.in_(ids)
        )
        return statement

    async def get(
        self, principal: Principal, object_id: uuid.UUID, at_least: Role = Role.viewer
    ) -> ModelT | None:
        statement = self.scoped(principal, at_least).where(self.model.id == object_id)
        result = await self.session.execute(statement)
        return cast("ModelT | None", result.scalar_one_or_none())

    async def list(self, statement: Select[tuple[ModelT]], *, limit: int) -> Sequence[ModelT]:
        result = await self.session.execute(statement.limit(limit))
        return cast("Sequence[ModelT]", result.scalars().all())

    async def newest_first(
        self,
        statement: Select[tuple[ModelT]],
        *,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> Sequence[ModelT]:
        """One keyset page ordered by (created_at, id) descending, after a cursor."""
        model = self.model
        if after is not None:
            created, last_id = after
            statement = statement.where(
                (model.created_at < created)
                | ((model.created_at == created) & (model.id < last_id))
            )
        statement = statement.order_by(model.created_at.desc(), model.id.desc())
        return await self.list(statement, limit=limit)

    async def add(self, obj: ModelT) -> ModelT:
        self.session.add(obj)
        await self.session.flush()
        return obj
