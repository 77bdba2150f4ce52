"""The canonical form: one Parquet file (x, y, z float64, colours, attributes, row_id)
written in one streaming pass, with the schema and statistics computed on the way.

Row groups hold at most ``limits.batch_rows`` rows (each reader batch is one row group).
The :class:`CanonicalResult` is JSON-serialisable (the ingest service stores it on the
Dataset row) and is also embedded in the Parquet footer under ``spatialviz``, which is how
:func:`read_canonical` recovers CRS and schema.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict, cast

import pyarrow as pa
import pyarrow.parquet as pq

from spatialviz.formats.base import (
    COLOR_COLUMNS,
    POSITION_COLUMNS,
    ROW_ID_COLUMN,
    FormatError,
    PointReader,
    ReaderLimits,
    SourceInfo,
)
from spatialviz.formats.errors import CorruptFileError, NoValidRowsError
from spatialviz.formats.stats import ColumnStats, ColumnStatsJson
from spatialviz.geodesy import GeoFacts, georeference, source_crs

METADATA_KEY = b"spatialviz"
CANONICAL_VERSION = 1
Role = Literal["position", "color", "attribute", "row_id"]
Compression = Literal["zstd", "lz4", "snappy", "none"]

ProgressCallback = Callable[[int, int | None], None]
"""Called after each batch with (rows read so far, rows declared by the header or None)."""
CancelCheck = Callable[[], bool]
"""Returns True when the job was cancelled; checked between batches."""


class IngestCancelledError(Exception):
    """Raised by :func:`write_canonical` when ``cancel()`` returned True; nothing is left."""


@dataclass
class ColumnSchema:
    name: str
    type: str
    role: Role
    unit: str | None
    source: str | None


class ColumnSchemaJson(TypedDict):
    name: str
    type: str
    role: Role
    unit: str | None
    source: str | None


class CanonicalJson(TypedDict):
    """:class:`CanonicalResult` as JSON: stored in the Parquet file's metadata and, with
    the storage key, as the ingest job's result (docs/datasets.md)."""

    format: str
    path: NotRequired[str]  # where the worker wrote it; dropped from the job's result
    rows: int
    rows_read: int
    rows_dropped: dict[str, int]
    bounds: dict[str, list[float]] | None
    columns: list[ColumnSchemaJson]
    stats: dict[str, ColumnStatsJson]
    crs_wkt: str | None
    crs_epsg: int | None
    notes: list[str]
    row_groups: int
    compression: str
    bytes: int
    version: int
    extra: dict[str, Any]
    georef: GeoFacts | None
    warnings: list[str]


@dataclass
class CanonicalResult:
    format: str
    path: str
    rows: int
    rows_read: int
    rows_dropped: dict[str, int]
    bounds: dict[str, list[float]] | None
    columns: list[ColumnSchema]
    stats: dict[str, ColumnStatsJson]
    crs_wkt: str | None
    crs_epsg: int | None
    notes: list[str]
    row_groups: int
    compression: str
    bytes: int
    version: int = CANONICAL_VERSION
    extra: dict[str, Any] = field(default_factory=dict)
    #: What the CRS module made of the label (units, vertical datum, where the data sit).
    georef: GeoFacts | None = None
    #: Implausible labels and what could not be honoured: shown, never silent.
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> CanonicalJson:
        return cast(CanonicalJson, asdict(self))

    @classmethod
    def from_json(cls, data: CanonicalJson) -> CanonicalResult:
        fields: dict[str, Any] = dict(data)
        fields["columns"] = [ColumnSchema(**c) for c in data["columns"]]
        return cls(**fields)


def _role(name: str) -> Role:
    if name in POSITION_COLUMNS:
        return "position"
    if name in COLOR_COLUMNS:
        return "color"
    if name == ROW_ID_COLUMN:
        return "row_id"
    return "attribute"


class _Conformer:
    """Holds later batches to the first batch's schema (readers of schemaless formats may
    discover new keys or types as they go): missing columns become null, new columns are
    dropped with a note, other types are cast (unsafe casts give null)."""

    def __init__(self, schema: pa.Schema, info: SourceInfo) -> None:
        self.schema = schema
        self.info = info
        self.noted: set[str] = set()

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if batch.schema.equals(self.schema):
            return batch
        cols = []
        for f in self.schema:
            idx = batch.schema.get_field_index(f.name)
            if idx < 0:
                cols.append(pa.nulls(batch.num_rows, f.type))
                continue
            col = batch.column(idx)
            if not col.type.equals(f.type):
                try:
                    col = col.cast(f.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    self._note(f"column {f.name}: values of another type became null")
                    col = pa.nulls(batch.num_rows, f.type)
            cols.append(col)
        for name in batch.schema.names:
            if self.schema.get_field_index(name) < 0:
                self._note(f"column {name} appeared after the first batch and was dropped")
        return pa.RecordBatch.from_arrays(cols, schema=self.schema)

    def _note(self, text: str) -> None:
        if text not in self.noted:
            self.noted.add(text)
            self.info.notes.append(text)


def write_canonical(
    reader: PointReader,
    dest: Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    compression: Compression = "zstd",
    compression_level: int | None = None,
) -> CanonicalResult:
    """Stream ``reader`` into canonical Parquet at ``dest`` and describe what was written.

    The file is written to a temporary name and renamed at the end, so a failure or a
    cancellation leaves nothing at ``dest``. Raises the reader's :class:`FormatError` or
    :class:`IngestCancelledError`.
    """
    dest = Path(dest)
    tmp = dest.with_name(dest.name + ".partial")
    info = reader.info
    writer: pq.ParquetWriter | None = None
    stats: dict[str, ColumnStats] = {}
    rows = 0
    row_groups = 0
    conform: _Conformer | None = None
    try:
        for batch in reader.iter_batches():
            if cancel is not None and cancel():
                raise IngestCancelledError("The ingest was cancelled.")
            if writer is None:
                conform = _Conformer(batch.schema, info)
                writer = pq.ParquetWriter(
                    tmp,
                    batch.schema,
                    compression=compression,
                    compression_level=compression_level,
                    write_statistics=True,
                )
                stats = {name: ColumnStats(name) for name in batch.schema.names}
            assert conform is not None
            batch = conform(batch)
            writer.write_batch(batch)
            row_groups += 1
            _add_stats(stats, batch)
            rows += batch.num_rows
            if progress is not None:
                progress(_rows_read(info, rows), info.declared_rows)
        if writer is None or rows == 0:
            raise NoValidRowsError("The file contains no rows with usable coordinates.")
        result = _result(info, dest, rows, row_groups, compression, writer.schema, stats)
        writer.add_key_value_metadata(
            {METADATA_KEY: json.dumps(result.to_json(), separators=(",", ":"))}
        )
        writer.close()
        writer = None
        os.replace(tmp, dest)
        result.bytes = dest.stat().st_size
        return result
    except (FormatError, IngestCancelledError):
        raise
    except OSError:
        raise
    except (pa.ArrowException, ValueError) as exc:
        raise CorruptFileError(f"The file could not be converted ({exc}).") from exc
    finally:
        if writer is not None:
            writer.close()
        if tmp.exists():
            tmp.unlink()


def _add_stats(stats: dict[str, ColumnStats], batch: pa.RecordBatch) -> None:
    for name, col in zip(batch.schema.names, batch.columns, strict=True):
        if name != ROW_ID_COLUMN:
            stats[name].add(col)


def _rows_read(info: SourceInfo, rows_kept: int) -> int:
    return rows_kept + sum(info.dropped.values())


def _result(
    info: SourceInfo,
    dest: Path,
    rows: int,
    row_groups: int,
    compression: str,
    schema: pa.Schema,
    stats: dict[str, ColumnStats],
) -> CanonicalResult:
    columns = [
        ColumnSchema(
            name=f.name,
            type=str(f.type),
            role=_role(f.name),
            unit=info.units.get(f.name),
            source=info.source_columns.get(f.name),
        )
        for f in schema
    ]
    stats_json = {name: s.to_json() for name, s in stats.items()}
    bounds = None
    if all(stats[c].min is not None for c in POSITION_COLUMNS):
        bounds = {
            "min": [float(stats[c].min or 0.0) for c in POSITION_COLUMNS],
            "max": [float(stats[c].max or 0.0) for c in POSITION_COLUMNS],
        }
    georef, warnings = _georeference(info, bounds)
    return CanonicalResult(
        format=info.format,
        path=str(dest),
        rows=rows,
        rows_read=_rows_read(info, rows),
        rows_dropped=dict(info.dropped),
        bounds=bounds,
        columns=columns,
        stats=stats_json,
        crs_wkt=info.crs_wkt,
        crs_epsg=info.crs_epsg,
        notes=list(info.notes),
        row_groups=row_groups,
        compression=compression,
        bytes=0,
        georef=georef,
        warnings=warnings,
    )


def _georeference(
    info: SourceInfo, bounds: dict[str, list[float]] | None
) -> tuple[GeoFacts | None, list[str]]:
    """Hold the CRS label against the data's bounds (see :mod:`spatialviz.geodesy`)."""
    described = source_crs(info.crs_wkt, info.crs_epsg, info.units)
    if described is None or bounds is None:
        return None, []
    lo, hi = bounds["min"], bounds["max"]
    try:
        found = georeference(described, ((lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2])))
    except Exception as exc:  # pyproj's many errors: the data are still usable, unplaced
        return {"placed": False}, [f"The CRS label could not be evaluated ({exc})."]
    return found.facts, found.warnings


class CanonicalReader:
    """Reads canonical Parquet back, one row group slice at a time."""

    def __init__(self, path: Path, limits: ReaderLimits | None = None) -> None:
        self.limits = limits or ReaderLimits()
        self._file = pq.ParquetFile(path)
        meta = self._file.schema_arrow.metadata or {}
        self.result: CanonicalResult | None = None
        self.info = SourceInfo(format="canonical", declared_rows=self._file.metadata.num_rows)
        raw = meta.get(METADATA_KEY)
        if raw is None:
            raw = (self._file.metadata.metadata or {}).get(METADATA_KEY)
        if raw is not None:
            self.result = CanonicalResult.from_json(json.loads(raw))
            r = self.result
            self.info.crs_wkt, self.info.crs_epsg = r.crs_wkt, r.crs_epsg
            self.info.notes = list(r.notes)
            self.info.units = {c.name: c.unit for c in r.columns if c.unit}
            self.info.source_columns = {c.name: c.source for c in r.columns if c.source}
            if r.bounds:
                lo, hi = r.bounds["min"], r.bounds["max"]
                self.info.bounds = ((lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2]))

    def iter_batches(self, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        yield from self._file.iter_batches(batch_size=self.limits.batch_rows, columns=columns)

    def close(self) -> None:
        self._file.close()


def read_canonical(path: Path, limits: ReaderLimits | None = None) -> CanonicalReader:
    """Open a file written by :func:`write_canonical` as a :class:`PointReader`."""
    return CanonicalReader(Path(path), limits)
