"""The dataset's data as it crosses modules: what the ingest job returns, and the schema
and stats stored with the dataset (read by scenes, encodings and the API)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict  # pydantic reads DatasetStats (before Python 3.12)

from spatialviz.formats.canonical import CanonicalJson, ColumnSchemaJson
from spatialviz.formats.stats import ColumnStatsJson


class IngestResult(CanonicalJson):
    """The ingest job's result: the canonical file's description and where it is."""

    canonical_key: str


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


def schema_of(result: IngestResult) -> DatasetSchema:
    return {"columns": result.get("columns", [])}


NO_STATS: DatasetStats = {
    "rows": None,
    "rows_read": None,
    "rows_dropped": None,
    "bounds": None,
    "columns": None,
    "notes": None,
    "warnings": [],
}
"""What a key missing from stats stored by an older version reads as."""


def stats_of(result: IngestResult) -> DatasetStats:
    """``.get``: results stored by older versions may lack a key."""
    return {
        "rows": result.get("rows"),
        "rows_read": result.get("rows_read"),
        "rows_dropped": result.get("rows_dropped"),
        "bounds": result.get("bounds"),
        "columns": result.get("stats"),
        "notes": result.get("notes"),
        "warnings": result.get("warnings") or [],
    }


def crs_of(result: IngestResult) -> dict[str, Any]:
    """The label as read, and what the CRS module made of it (open-ended: its facts)."""
    return {
        "wkt": result.get("crs_wkt"),
        "epsg": result.get("crs_epsg"),
        **(result.get("georef") or {}),
    }
