"""The contract every reader fulfils, shared by ingest, tiling and the CLI.

A reader turns one file into a stream of Arrow record batches in the *canonical column
convention*:

- ``x``, ``y``, ``z``: float64 positions (already scaled/offset, in the file's CRS units);
- ``red``, ``green``, ``blue``: colour channels when the file has them (uint8 or uint16;
  consumers normalise: a channel whose maximum exceeds 255 is 16-bit);
- any other attribute under its own snake_case name (``intensity``, ``classification``,
  ``return_number``, ``gps_time``, table columns, ...);
- ``row_id``: int64, the row's position in the original file (0-based), so a picked point
  can always be traced back to its source row.

Readers never trust a header: they bound every allocation by the settings they are given and
say what they found through :class:`FormatError` subclasses with a stable ``code``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow as pa

POSITION_COLUMNS = ("x", "y", "z")
COLOR_COLUMNS = ("red", "green", "blue")
ROW_ID_COLUMN = "row_id"


class FormatError(Exception):
    """A file could not be read. ``code`` is stable and machine-readable; the message is
    one human sentence saying what was found."""

    code: str = "format_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


@dataclass(frozen=True)
class ReaderLimits:
    """Bounds a reader enforces whatever the file claims."""

    max_points: int = 2_000_000_000
    batch_rows: int = 1_000_000
    max_decompression_ratio: float = 200.0
    #: Compressed containers (Parquet, Arrow) decoding to less than this are never refused
    #: by the ratio above, so that small files of constants pass (formats/decode_budget.py).
    decompression_floor_bytes: int = 64 * 1024 * 1024
    #: The most one unit pyarrow decompresses at once (a Parquet column chunk, an Arrow
    #: record batch) may hold.
    max_decompressed_unit_bytes: int = 1024 * 1024 * 1024
    #: Rows whose coordinates are missing, NaN, infinite or text are dropped and counted; a
    #: file where more than this fraction of the rows is unusable is refused.
    max_bad_row_fraction: float = 0.5
    #: Rows with the wrong number of fields (CSV) are skipped and counted, up to this many.
    max_ragged_rows: int = 100_000
    #: ASCII PLY is parsed in memory by plyfile, so it is bounded by size.
    max_ascii_ply_bytes: int = 256 * 1024 * 1024
    #: A single NDJSON line / GeoJSON feature larger than this is refused.
    max_record_bytes: int = 64 * 1024 * 1024
    #: JSON (GeoJSON, NDJSON) nested deeper than this is refused before it is parsed:
    #: parsers spend memory quadratic in depth. GeoJSON itself needs 7 levels.
    max_json_depth: int = 64
    #: The non-position columns the caller will use (canonical names), or None for all. A
    #: hint: readers that can skip decoding the others do (LAS), the rest return them all.
    wanted_columns: frozenset[str] | None = None


@dataclass(frozen=True)
class PositionOverride:
    """Names the source columns that hold x, y and (optionally) z, overriding detection."""

    x: str
    y: str
    z: str | None = None


@dataclass
class SourceInfo:
    """What a reader learned from the file before reading its rows."""

    format: str
    declared_rows: int | None = None
    crs_wkt: str | None = None
    crs_epsg: int | None = None
    bounds: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    notes: list[str] = field(default_factory=list)
    #: canonical column name -> the source column/dimension it came from
    source_columns: dict[str, str] = field(default_factory=dict)
    #: canonical column name -> unit ("metre", "foot", "US survey foot", "degree", ...)
    units: dict[str, str] = field(default_factory=dict)
    #: reason -> rows dropped so far; updated while batches are read
    dropped: dict[str, int] = field(default_factory=dict)


class PointReader(Protocol):
    """A file opened for streaming."""

    info: SourceInfo

    def iter_batches(self) -> Iterator[pa.RecordBatch]:
        """Yield batches of at most ``limits.batch_rows`` rows in the canonical convention."""
        ...

    def close(self) -> None:
        """Release file handles."""
        ...


class ReaderFactory(Protocol):
    def __call__(self, path: Path, limits: ReaderLimits) -> PointReader: ...
