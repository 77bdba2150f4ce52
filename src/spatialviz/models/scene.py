"""A scene: how one dataset is drawn (its encoding) and the tileset made from it; and the
share links that open a scene read-only without signing in."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import JSON, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from spatialviz.kit.db import Base, RecordMixin


class SceneStatus(enum.StrEnum):
    queued = "queued"
    tiling = "tiling"
    ready = "ready"
    failed = "failed"


class TilesetInfo(TypedDict):
    """What the tiling job made: the tileset's content version and its size."""

    version: str
    points: int
    tiles: int
    bytes: int
    max_level: int
    #: How many chunks the map phase tiled in parallel.
    chunks: int


class Scene(RecordMixin, Base):
    __tablename__ = "scenes"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[SceneStatus] = mapped_column(
        Enum(SceneStatus, name="scene_status", native_enum=False, length=16),
        default=SceneStatus.queued,
    )
    #: What the client sent (``styling.encoding.Encoding``, any part of it: the rest takes
    #: defaults) and what it resolved to (``ResolvedEncoding``'s JSON; its readers validate
    #: it with that model, and export versions hash it as stored).
    encoding: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    resolved: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The tiling job that makes (or made) the current tileset.
    job_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), default=None
    )
    #: Content-addressed tileset version and the blob prefix it lives under.
    tileset_version: Mapped[str | None] = mapped_column(String(64), default=None)
    tileset_prefix: Mapped[str | None] = mapped_column(String(512), default=None)
    tileset_info: Mapped[TilesetInfo | None] = mapped_column(JSON, default=None)
    #: Bumping it invalidates every tile signature issued before.
    signature_generation: Mapped[int] = mapped_column(default=0)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_message: Mapped[str | None] = mapped_column(String(1000), default=None)


class ShareLink(RecordMixin, Base):
    __tablename__ = "scene_share_links"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    scene_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("scenes.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
