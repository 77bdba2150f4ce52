"""Recording audit events; every domain calls :func:`record_audit` inside its transaction,
so an event exists exactly when the change it describes was committed."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.models import AuditEvent

log = structlog.get_logger("spatialviz.audit")


async def record_audit(
    session: AsyncSession,
    *,
    workspace_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
    action: str,
    target_type: str,
    target_id: uuid.UUID | str | None = None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
    api_key_id: uuid.UUID | None = None,
) -> AuditEvent:
    """Add one event (flushed, not committed). ``action`` is ``<domain>.<verb>``, e.g.
    ``dataset.deleted``; ``details`` is small JSON and never holds secrets. ``api_key_id``:
    the key the actor acted with (``details.api_key_id``), so a key's doings can be told
    from its creator's own."""
    if api_key_id is not None:
        details = {**(details or {}), "api_key_id": str(api_key_id)}
    event = AuditEvent(
        workspace_id=workspace_id,
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=details or {},
        ip=ip,
    )
    session.add(event)
    await session.flush()
    log.info(
        "audit",
        action=action,
        workspace_id=str(workspace_id) if workspace_id else None,
        actor_id=str(actor_id) if actor_id else None,
        target_type=target_type,
        target_id=event.target_id,
        api_key_id=str(api_key_id) if api_key_id else None,
    )
    return event
