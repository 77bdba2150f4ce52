"""Workspaces own every dataset and scene; people reach them through memberships."""

from __future__ import annotations

import uuid

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spatialviz.kit.db import Base, RecordMixin
from spatialviz.kit.roles import Role as Role  # re-exported: the column type of memberships


class Workspace(RecordMixin, Base):
    __tablename__ = "workspaces"

    name: Mapped[str] = mapped_column(String(120))
    is_personal: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class Membership(RecordMixin, Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="workspace_role", native_enum=False, length=16)
    )
    #: Bumped whenever the role changes: tile signatures minted from this membership (and
    #: from its person's API keys here) carry the value and stop working when it moves.
    access_generation: Mapped[int] = mapped_column(default=0, server_default="0")
