"""Dataset request and response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from spatialviz.dataset.records import NO_STATS
from spatialviz.formats.canonical import Role as ColumnRole
from spatialviz.models.dataset import DatasetStats, DatasetStatus


class ColumnOverride(BaseModel):
    """Which source columns are x, y and z, when the automatic choice is wrong."""

    model_config = ConfigDict(extra="forbid")
    x: str = Field(min_length=1, max_length=200)
    y: str = Field(min_length=1, max_length=200)
    z: str | None = Field(default=None, max_length=200)


class CrsOut(BaseModel):
    """The source's coordinate reference system, when it names one, and what the CRS module
    made of it (docs/datasets.md, "CRS and units")."""

    wkt: str | None = None
    epsg: int | None = None
    crs_name: str | None = None
    crs_type: str | None = None
    horizontal_unit: str | None = None
    vertical_unit: str | None = None
    vertical_crs: str | None = None
    vertical_datum: str | None = None
    placed: bool | None = Field(default=None, description="Whether the data sit on Earth")
    center_wgs84: list[float] | None = Field(
        default=None, description="The data's centre: longitude, latitude, ellipsoidal height"
    )
    frame_origin_ecef: list[float] | None = None
    operation: str | None = Field(default=None, description="pyproj's transformation used")
    missing_grids: list[str] | None = None
    datum_shift: str | None = None


class ColumnOut(BaseModel):
    name: str
    type: str = Field(description="Arrow type name, e.g. double, int64, string")
    role: ColumnRole
    unit: str | None = None
    source: str | None = Field(default=None, description="The source column it came from")


class SchemaOut(BaseModel):
    columns: list[ColumnOut]


def _stored_stats(value: object) -> object:
    """Stats stored by an older version may lack a key: it reads as in :data:`NO_STATS`."""
    return {**NO_STATS, **value} if isinstance(value, dict) else value


class DatasetOut(BaseModel):
    # Defaulted fields are always sent: the generated client types say so.
    model_config = ConfigDict(
        from_attributes=True, json_schema_serialization_defaults_required=True
    )

    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str = Field(description="The client's filename, kept only as a label")
    status: DatasetStatus
    format: str | None
    size_bytes: int
    sha256: str
    row_count: int | None
    schema_info: SchemaOut | None = Field(serialization_alias="schema")
    stats: Annotated[DatasetStats | None, BeforeValidator(_stored_stats)] = Field(
        description="What the ingest counted: rows, bounds, per-column statistics, warnings"
    )
    crs: CrsOut | None
    ingest_job_id: uuid.UUID | None
    scene_ids: list[uuid.UUID] = Field(default_factory=list)
    error_code: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime
