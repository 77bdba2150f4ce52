"""A dataset: one uploaded file and, once ingested, its canonical Parquet form."""

from __future__ import annotations

import enum
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from spatialviz.kit.db import Base, RecordMixin


class DatasetStatus(enum.StrEnum):
    uploaded = "uploaded"
    ingesting = "ingesting"
    ready = "ready"
    failed = "failed"


class Dataset(RecordMixin, Base):
    __tablename__ = "datasets"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[DatasetStatus] = mapped_column(
        Enum(DatasetStatus, name="dataset_status", native_enum=False, length=16),
        default=DatasetStatus.uploaded,
    )
    format: Mapped[str | None] = mapped_column(String(32), default=None)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    source_key: Mapped[str | None] = mapped_column(String(512), default=None)
    canonical_key: Mapped[str | None] = mapped_column(String(512), default=None)
    row_count: Mapped[int | None] = mapped_column(BigInteger, default=None)
    columns_override: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    schema_info: Mapped[dict[str, Any] | None] = mapped_column("schema", JSON, default=None)
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    crs: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    ingest_job_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_message: Mapped[str | None] = mapped_column(String(1000), default=None)
