"""Dataset request and response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from spatialviz.models.dataset import DatasetStatus


class ColumnOverride(BaseModel):
    """Which source columns are x, y and z, when the automatic choice is wrong."""

    model_config = ConfigDict(extra="forbid")
    x: str = Field(min_length=1, max_length=200)
    y: str = Field(min_length=1, max_length=200)
    z: str | None = Field(default=None, max_length=200)


class DatasetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str = Field(description="The client's filename, kept only as a label")
    status: DatasetStatus
    format: str | None
    size_bytes: int
    sha256: str
    row_count: int | None
    schema_info: dict[str, Any] | None = Field(serialization_alias="schema")
    stats: dict[str, Any] | None
    crs: dict[str, Any] | None
    ingest_job_id: uuid.UUID | None
    scene_ids: list[uuid.UUID] = Field(default_factory=list)
    error_code: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime
