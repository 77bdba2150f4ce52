"""Who did what to which object, kept after the object (or its workspace) is gone."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from spatialviz.kit.db import Base, RecordMixin


class AuditEvent(RecordMixin, Base):
    """``workspace_id`` and ``actor_id`` are plain columns, not foreign keys, on purpose:
    deleting a workspace or a user must not delete the record of it."""

    __tablename__ = "audit_events"

    workspace_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(64), default=None)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
