"""All SQL for audit events; reads go through the workspace tenancy filter (owners only)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_

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
        if after is not None:
            created, last_id = after
            statement = statement.where(
                or_(
                    AuditEvent.created_at < created,
                    (AuditEvent.created_at == created) & (AuditEvent.id < last_id),
                )
            )
        statement = statement.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        return await self.list(statement, limit=limit)
