"""The dataset API's ``stats``: typed fields in the OpenAPI document (the TypedDicts the
ingest writes), and stats stored by an older version (a key missing) still answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from spatialviz.dataset.records import NO_STATS
from spatialviz.dataset.schemas import DatasetOut
from spatialviz.openapi_document import document


def _dataset(stats: dict[str, Any] | None) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": uuid.uuid4(),
        "workspace_id": uuid.uuid4(),
        "name": "points.csv",
        "status": "ready",
        "format": "csv",
        "size_bytes": 10,
        "sha256": "0" * 64,
        "row_count": 2,
        "schema_info": None,
        "stats": stats,
        "crs": None,
        "ingest_job_id": None,
        "error_code": None,
        "error_message": None,
        "created_at": now,
        "updated_at": now,
    }


def test_stats_stored_before_a_key_existed_read_with_its_empty_value() -> None:
    # Stats as ingests before "warnings" (and "notes", "rows_read") wrote them.
    column = {"count": 2, "null_count": 0, "min": 1.0, "max": 2.0, "mean": 1.5}
    old = {"rows": 2, "bounds": {"min": [0, 0, 0], "max": [1, 1, 1]}, "columns": {"z": column}}
    out = DatasetOut.model_validate(_dataset(old)).model_dump(mode="json", by_alias=True)
    assert out["stats"] == {**NO_STATS, **old}
    assert out["stats"]["warnings"] == []


def test_no_stats_stay_null() -> None:
    assert DatasetOut.model_validate(_dataset(None)).stats is None


def test_the_openapi_document_describes_the_stats() -> None:
    schemas = document()["components"]["schemas"]
    stats = schemas["DatasetStats"]
    assert set(stats["properties"]) == set(NO_STATS)
    column = schemas["ColumnStatsJson"]
    # Only what every column has is required: a text column has no min or histogram.
    assert set(column["required"]) == {"count", "null_count"}
    assert {"min", "max", "mean", "histogram", "categories"} <= set(column["properties"])
