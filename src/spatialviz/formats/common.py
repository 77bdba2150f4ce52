"""Pieces shared by the readers: naming, coordinate-column rules, bad-row accounting."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from spatialviz.formats.base import (
    COLOR_COLUMNS,
    POSITION_COLUMNS,
    ROW_ID_COLUMN,
    PositionOverride,
    ReaderLimits,
    SourceInfo,
)
from spatialviz.formats.errors import (
    ColumnNotFoundError,
    InvalidCoordinatesError,
    NoNumericColumnsError,
    NoValidRowsError,
    TooManyPointsError,
)

RESERVED = (*POSITION_COLUMNS, ROW_ID_COLUMN)

# Recognised coordinate names (compared after snake_casing, so "Longitude", "LON" and
# "lon " all match). Order is priority. A file has usable coordinates when an x and a y name
# are found; z is optional.
X_NAMES = ("x", "lon", "lng", "long", "longitude", "easting", "east", "e")
Y_NAMES = ("y", "lat", "latitude", "northing", "north", "n")
Z_NAMES = ("z", "alt", "altitude", "elevation", "elev", "ele", "height", "h", "hgt")
_GEOGRAPHIC_X = {"lon", "lng", "long", "longitude"}

_COLOR_ALIASES = {
    "red": "red", "diffuse_red": "red",
    "green": "green", "diffuse_green": "green",
    "blue": "blue", "diffuse_blue": "blue",
}  # fmt: skip
# single letters are colours only when all three are present
_LETTER_COLORS = {"r": "red", "g": "green", "b": "blue"}


def snake_case(name: str) -> str:
    """``"GPS Time"`` -> ``"gps_time"``, ``"scanAngle"`` -> ``"scan_angle"``."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    s = re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower()
    if not s:
        s = "column"
    if s[0].isdigit():
        s = "c_" + s
    return s


def canonical_names(source_names: Sequence[str]) -> dict[str, str]:
    """Map each source column to a unique snake_case canonical name (source -> canonical).

    Reserved names (x, y, z, row_id) are not produced here; they are assigned separately.
    """
    used: set[str] = set(RESERVED)
    out: dict[str, str] = {}
    keys = {snake_case(s) for s in source_names}
    aliases = dict(_COLOR_ALIASES)
    if set(_LETTER_COLORS) <= keys and not set(_LETTER_COLORS.values()) & keys:
        aliases.update(_LETTER_COLORS)
    for src in source_names:
        base = snake_case(src)
        base = aliases.get(base, base)
        name = base if base not in RESERVED else f"{base}_source"
        i = 2
        while name in used:
            name = f"{base}_{i}"
            i += 1
        used.add(name)
        out[src] = name
    return out


@dataclass(frozen=True)
class PositionColumns:
    x: str
    y: str
    z: str | None
    notes: tuple[str, ...] = ()
    geographic: bool = False


def is_numeric(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))


def resolve_positions(
    schema: pa.Schema,
    override: PositionOverride | None,
    *,
    string_numeric: Sequence[str] = (),
) -> PositionColumns:
    """Pick the x/y/z source columns of a table.

    Rule: an explicit override wins (its columns must exist). Otherwise recognised names
    (see X_NAMES/Y_NAMES/Z_NAMES, case-insensitive). Otherwise the first three numeric
    columns become x, y, z in order; with only two, z = 0; with only one, y = z = 0 (each
    fallback is recorded as a note). A table with no numeric column is refused.
    ``string_numeric`` lists text columns that hold numbers (e.g. a CSV column whose first
    rows were text) so they still count as numeric.
    """
    names = list(schema.names)
    if override is not None:
        for col in (override.x, override.y, override.z):
            if col is not None and col not in names:
                raise ColumnNotFoundError(
                    f"The column {col!r} named for the positions is not in the file "
                    f"(columns: {', '.join(names[:20])})."
                )
        return PositionColumns(override.x, override.y, override.z, ("positions from request",))
    by_key: dict[str, str] = {}
    for n in names:
        by_key.setdefault(snake_case(n), n)
    x = next((by_key[k] for k in X_NAMES if k in by_key), None)
    y = next((by_key[k] for k in Y_NAMES if k in by_key), None)
    z = next((by_key[k] for k in Z_NAMES if k in by_key), None)
    if x is not None and y is not None:
        notes: tuple[str, ...] = () if z is not None else ("no z column: z = 0",)
        return PositionColumns(x, y, z, notes, geographic=snake_case(x) in _GEOGRAPHIC_X)
    numeric = [f.name for f in schema if is_numeric(f.type) or f.name in set(string_numeric)]
    if not numeric:
        raise NoNumericColumnsError(
            "The table has no numeric column, so there is nothing to place in space."
        )
    note = "no recognised coordinate columns: using the first numeric columns " + ", ".join(
        numeric[:3]
    )
    if len(numeric) >= 3:
        return PositionColumns(numeric[0], numeric[1], numeric[2], (note + " as x, y, z",))
    if len(numeric) == 2:
        return PositionColumns(numeric[0], numeric[1], None, (note + " as x, y; z = 0",))
    return PositionColumns(numeric[0], numeric[0], None, (note + " as x; y = z = 0",))


def to_float64(arr: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.float64]:
    """Any numeric or text column -> float64 with NaN for null/unparseable values."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    if pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t):
        out = pc.cast(arr, pa.float64(), safe=False)
    elif pa.types.is_boolean(t):
        out = pc.cast(arr, pa.float64())
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        out = parse_float_strings(arr)
    else:
        return np.full(len(arr), np.nan)
    return np.asarray(out.to_numpy(zero_copy_only=False), dtype=np.float64)


_FLOAT_RE = r"^\s*[-+]?((\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|inf|infinity|nan)\s*$"


def parse_float_strings(arr: pa.Array) -> pa.Array:
    """Vectorised tolerant parse: text that is not a number becomes null."""
    ok = pc.match_substring_regex(arr, _FLOAT_RE, ignore_case=True)
    ok = pc.fill_null(ok, False)
    cleaned = pc.if_else(ok, pc.utf8_trim_whitespace(arr), pa.scalar(None, pa.string()))
    return pc.cast(cleaned, pa.float64())


class BadRowGuard:
    """Counts rows dropped for unusable coordinates and enforces the refusal rule."""

    def __init__(self, info: SourceInfo, limits: ReaderLimits) -> None:
        self.info = info
        self.limits = limits
        self.seen = 0

    def drop(self, reason: str, count: int) -> None:
        if count:
            self.info.dropped[reason] = self.info.dropped.get(reason, 0) + count

    @property
    def bad(self) -> int:
        return sum(self.info.dropped.values())

    def check(self, *, final: bool) -> None:
        """Refuse early once a large sample is mostly bad, or at the end of the stream; and
        refuse any stream longer than ``limits.max_points`` rows, whatever its header said."""
        total = self.seen
        if total > self.limits.max_points:
            raise TooManyPointsError(
                f"The file holds more than the limit of {self.limits.max_points} rows."
            )
        if total == 0:
            if final:
                raise NoValidRowsError("The file contains no data rows.")
            return
        if final and self.bad >= total:
            raise NoValidRowsError(
                f"None of the {total} rows has usable coordinates ({_reasons(self.info.dropped)})."
            )
        if (final or total >= 100_000) and self.bad > self.limits.max_bad_row_fraction * total:
            raise InvalidCoordinatesError(
                f"{self.bad} of {total} rows have unusable coordinates "
                f"({_reasons(self.info.dropped)}), more than the "
                f"{self.limits.max_bad_row_fraction:.0%} allowed."
            )


def _reasons(dropped: Mapping[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(dropped.items()))


def assemble(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    z: npt.NDArray[np.float64],
    attributes: Mapping[str, pa.Array | npt.NDArray[np.generic]],
    row_id: npt.NDArray[np.int64],
    guard: BadRowGuard,
) -> pa.RecordBatch | None:
    """Build a canonical batch, dropping (and counting) rows with non-finite coordinates.

    ``x``/``y``/``z`` NaN means missing or unparseable; ±inf means infinite.
    """
    guard.seen += len(x)
    finite = np.isfinite(x) & np.isfinite(y) & np.isfinite(z)
    keep: npt.NDArray[np.bool_] | None = None
    if not finite.all():
        nan = np.isnan(x) | np.isnan(y) | np.isnan(z)
        guard.drop("nan_or_missing_coordinate", int(nan.sum()))
        guard.drop("infinite_coordinate", int((~finite & ~nan).sum()))
        keep = finite
    guard.check(final=False)
    cols: dict[str, pa.Array] = {}
    for name, arr in (("x", x), ("y", y), ("z", z)):
        cols[name] = pa.array(arr if keep is None else arr[keep], type=pa.float64())
    ordered = [c for c in COLOR_COLUMNS if c in attributes]
    ordered += [c for c in attributes if c not in COLOR_COLUMNS]
    mask = None if keep is None else pa.array(keep)
    for name in ordered:
        a = attributes[name]
        if isinstance(a, np.ndarray):
            cols[name] = pa.array(a if keep is None else a[keep])
        else:
            cols[name] = a if mask is None else a.filter(mask)
    cols[ROW_ID_COLUMN] = pa.array(row_id if keep is None else row_id[keep], type=pa.int64())
    if len(cols["x"]) == 0:
        return None
    return pa.RecordBatch.from_pydict(cols)


class TableMapper:
    """Turns batches of a table (any column names/types) into canonical batches."""

    def __init__(
        self, schema: pa.Schema, override: PositionOverride | None, info: SourceInfo
    ) -> None:
        self.schema = schema
        self.positions = pos = resolve_positions(schema, override)
        used = {pos.x, pos.y, pos.z}
        # A position column named anything but x/y/z (lon, easting, age, ...) stays an
        # attribute under its own name too: charts, pickers and legends need it by name.
        self.attr_sources = [
            n for n in schema.names if n not in used or snake_case(n) not in POSITION_COLUMNS
        ]
        self.names = canonical_names(self.attr_sources)
        info.notes.extend(pos.notes)
        info.source_columns.update({"x": pos.x, "y": pos.y})
        if pos.z is not None:
            info.source_columns["z"] = pos.z
        for src, name in self.names.items():
            info.source_columns[name] = src
        if pos.geographic:
            info.crs_epsg = info.crs_epsg or 4326
            info.units.update(x="degree", y="degree")
            info.notes.append("longitude/latitude columns: CRS assumed EPSG:4326")

    def convert(
        self,
        raw: pa.RecordBatch,
        row_id: npt.NDArray[np.int64],
        guard: BadRowGuard,
        *,
        text_numeric: bool = False,
    ) -> pa.RecordBatch | None:
        """``text_numeric``: the batch was read as text; columns numeric in ``schema`` are
        parsed back to float64 (non-numbers become null)."""
        pos = self.positions
        n = raw.num_rows
        x = _column_float(raw, pos.x, n)
        y = _column_float(raw, pos.y, n) if pos.y != pos.x else np.zeros(n)
        z = _column_float(raw, pos.z, n) if pos.z is not None else np.zeros(n)
        attrs: dict[str, pa.Array] = {}
        for src in self.attr_sources:
            idx = raw.schema.get_field_index(src)
            if idx < 0:
                continue
            col = raw.column(idx)
            if isinstance(col, pa.ChunkedArray):
                col = col.combine_chunks()
            wanted = self.schema.field(src).type
            if text_numeric and is_numeric(wanted):
                col = parse_float_strings(col)
                with contextlib.suppress(pa.ArrowInvalid):
                    col = pc.cast(col, wanted)  # keep the column's type when values allow
            attrs[self.names[src]] = col
        return assemble(x, y, z, attrs, row_id, guard)


def _column_float(raw: pa.RecordBatch, name: str | None, n: int) -> npt.NDArray[np.float64]:
    idx = raw.schema.get_field_index(name) if name is not None else -1
    if idx < 0:
        return np.full(n, np.nan)
    return to_float64(raw.column(idx))
