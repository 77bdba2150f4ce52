"""The dataset's data as it crosses modules: what the ingest job returns, and how it
becomes the schema, stats and CRS stored with the dataset (their shapes are the model's,
:mod:`spatialviz.models.dataset`; scenes, encodings and the API read them)."""

from __future__ import annotations

from spatialviz.formats.canonical import CanonicalJson
from spatialviz.geodesy import GeoFacts
from spatialviz.models.dataset import DatasetCrs, DatasetSchema, DatasetStats


class IngestResult(CanonicalJson):
    """The ingest job's result: the canonical file's description and where it is."""

    canonical_key: str


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


def crs_of(result: IngestResult) -> DatasetCrs:
    """The label as read, and what the CRS module made of it."""
    georef: GeoFacts = result.get("georef") or {}
    return {"wkt": result.get("crs_wkt"), "epsg": result.get("crs_epsg"), **georef}
