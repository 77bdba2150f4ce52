"""A dataset: one uploaded file and, once ingested, its canonical Parquet form."""

from __future__ import annotations

import enum
import uuid

from pydantic import ConfigDict, with_config
from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column
from typing_extensions import TypedDict  # pydantic reads DatasetStats (before Python 3.12)

from spatialviz.formats.canonical import ColumnSchemaJson
from spatialviz.formats.stats import ColumnStatsJson
from spatialviz.geodesy import GeoFacts
from spatialviz.kit.db import Base, RecordMixin


class DatasetStatus(enum.StrEnum):
    uploaded = "uploaded"
    ingesting = "ingesting"
    ready = "ready"
    failed = "failed"


# The JSON columns' shapes: the ingest job writes them (dataset.records), scenes, encodings
# and the API read them. Stored by older versions, a record may lack a key added since:
# readers use .get, and the API fills the gaps (dataset.schemas).


class ColumnOverrideJson(TypedDict):
    """Which source columns are x, y and z, as the uploader named them."""

    x: str
    y: str
    z: str | None


class DatasetSchema(TypedDict):
    columns: list[ColumnSchemaJson]


# The API sends these as stored: a key that may be absent stays optional in the OpenAPI
# document (not made required, as DatasetOut's own defaulted fields are).
@with_config(ConfigDict(json_schema_serialization_defaults_required=False))
class DatasetStats(TypedDict):
    rows: int | None
    rows_read: int | None
    rows_dropped: dict[str, int] | None
    bounds: dict[str, list[float]] | None
    columns: dict[str, ColumnStatsJson] | None
    notes: list[str] | None
    warnings: list[str]


class DatasetCrs(GeoFacts):
    """The label as read (WKT, EPSG code) and what the CRS module made of it."""

    wkt: str | None
    epsg: int | None


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
    columns_override: Mapped[ColumnOverrideJson | None] = mapped_column(JSON, default=None)
    schema_info: Mapped[DatasetSchema | None] = mapped_column("schema", JSON, default=None)
    stats: Mapped[DatasetStats | None] = mapped_column(JSON, default=None)
    crs: Mapped[DatasetCrs | None] = mapped_column(JSON, default=None)
    ingest_job_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_message: Mapped[str | None] = mapped_column(String(1000), default=None)
