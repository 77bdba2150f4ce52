"""All SQL for audit events; reads go through the workspace tenancy filter (owners only)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from spatialviz.kit.tenancy import Principal, WorkspaceScopedRepository
from spatialviz.models import AuditEvent, Role


class AuditEventRepository(WorkspaceScopedRepository[AuditEvent]):
    model = AuditEvent

    async def page(
        self,
        principal: Principal,
        *,
        workspace_id: uuid.UUID | None,
        action: str | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> Sequence[AuditEvent]:
        statement = self.scoped(principal, Role.owner)
        if workspace_id is not None:
            statement = statement.where(AuditEvent.workspace_id == workspace_id)
        if action is not None:
            statement = statement.where(AuditEvent.action == action)
        return await self.newest_first(statement, after=after, limit=limit)
