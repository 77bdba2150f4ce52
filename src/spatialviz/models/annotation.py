"""A note pinned to a point of a scene, seen by everyone who can read the scene."""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, Double, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from spatialviz.kit.db import Base, RecordMixin


class Annotation(RecordMixin, Base):
    __tablename__ = "scene_annotations"
    # Lists are per scene, oldest first.
    __table_args__ = (Index("ix_scene_annotations_scene_id_created_at", "scene_id", "created_at"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    scene_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scenes.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    text: Mapped[str] = mapped_column(String(280))
    #: In the scene's frame (docs/annotations.md): dataset coordinates where the scene has
    #: them, else the tileset's.
    x: Mapped[float] = mapped_column(Double)
    y: Mapped[float] = mapped_column(Double)
    z: Mapped[float] = mapped_column(Double)
    #: The picked point's row, when the annotation was placed on one.
    row_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
