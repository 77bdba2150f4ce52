"""GET /api/v1/audit-events: the audit log of the workspaces you own."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from spatialviz.audit.repository import AuditEventRepository
from spatialviz.audit.schemas import AuditEventOut
from spatialviz.auth.deps import CurrentPrincipal
from spatialviz.kit.deps import SessionDep
from spatialviz.kit.errors import problem_responses
from spatialviz.kit.pagination import CursorQuery, LimitQuery, Page, decode_cursor, encode_cursor
from spatialviz.kit.tenancy import require_role
from spatialviz.models import Role

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get(
    "/audit-events",
    response_model=Page[AuditEventOut],
    summary="Audit events of the workspaces you own, newest first",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_audit_events(
    principal: CurrentPrincipal,
    session: SessionDep,
    workspace_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[AuditEventOut]:
    if workspace_id is not None:
        require_role(principal, workspace_id, Role.owner)
    events = await AuditEventRepository(session).page(
        principal,
        workspace_id=workspace_id,
        action=action,
        after=decode_cursor(cursor),
        limit=limit + 1,
    )
    more = len(events) > limit
    items = [AuditEventOut.model_validate(e) for e in events[:limit]]
    next_cursor = encode_cursor(items[-1].created_at, items[-1].id) if more and items else None
    return Page[AuditEventOut](items=items, next_cursor=next_cursor)
