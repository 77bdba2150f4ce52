"""Opaque refresh tokens, stored as hashes, rotated on every use, grouped in families."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from spatialviz.kit.db import Base, RecordMixin


class RefreshToken(RecordMixin, Base):
    """One link of a rotation chain. A family is everything issued from one sign-in; using
    a link twice (``used_at`` already set) means it was stolen, and the family dies."""

    __tablename__ = "refresh_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
