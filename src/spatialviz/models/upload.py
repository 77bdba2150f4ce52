"""A resumable (tus 1.0) upload in progress; finishing it creates a dataset."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from spatialviz.kit.db import Base, RecordMixin


class Upload(RecordMixin, Base):
    __tablename__ = "uploads"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    filename: Mapped[str] = mapped_column(String(255), default="upload")
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    parts: Mapped[list[int]] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    dataset_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="SET NULL"), default=None
    )
