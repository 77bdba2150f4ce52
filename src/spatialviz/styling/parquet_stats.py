"""Column statistics read from Parquet metadata only (no row data), for defaults and bounds."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from spatialviz.styling.encoding import ColumnStats


def _as_float(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        f = float(value)
        return f if math.isfinite(f) else None
    return None


def parquet_column_stats(path: str | Path) -> dict[str, ColumnStats]:
    """Min/max of every numeric column from the row-group statistics of ``path``.

    Reads only the footer, so it is cheap on a 100M-row file. A column whose statistics are
    missing in any row group is left out (the caller then passes explicit ranges).
    """
    meta = pq.ParquetFile(path).metadata
    lows: dict[str, float] = {}
    highs: dict[str, float] = {}
    incomplete: set[str] = set()
    for rg in range(meta.num_row_groups):
        group = meta.row_group(rg)
        if group.num_rows == 0:
            continue
        for ci in range(group.num_columns):
            col = group.column(ci)
            name = col.path_in_schema
            st = col.statistics
            if st is None or not st.has_min_max:
                incomplete.add(name)
                continue
            lo, hi = _as_float(st.min), _as_float(st.max)
            if lo is None or hi is None:
                incomplete.add(name)
                continue
            lows[name] = min(lows.get(name, lo), lo)
            highs[name] = max(highs.get(name, hi), hi)
    return {
        name: ColumnStats(min=lows[name], max=highs[name])
        for name in lows
        if name not in incomplete
    }


def parquet_schema_columns(path: str | Path) -> list[dict[str, str]]:
    """The file's columns as ``{"name", "type"}`` (Arrow type strings), for tests and tools."""
    schema: pa.Schema = pq.read_schema(path)
    return [{"name": f.name, "type": str(f.type)} for f in schema]
