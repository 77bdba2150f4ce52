"""Spatial queries over a canonical Parquet file with bounded memory and time.

The spatial index is a copy of the canonical rows re-ordered along a Morton (Z-order)
curve and written in small row groups, plus the exact bounding box of each group. Built
once per dataset (an out-of-core bucket sort: at most ``memory_rows`` rows in memory) and
cached next to the canonical file in ``<file>.qindex/``. A query then reads only the row
groups whose box meets the region:

- ``box`` / ``sphere``: count, min/max/mean of every numeric column, and up to N samples
  spread evenly along the curve (so spread in space, not the first N rows);
- ``knn``: best-first over row groups by their distance to the point; exact;
- ``pick``: the full row of a ``row_id``, using the canonical file's row-group statistics.

Every query has a scan budget (rows read); going over it raises :class:`QueryLimitError`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from spatialviz.tiling import morton

INDEX_VERSION = 1
DEFAULT_SAMPLES = 1_000
ROW_ID = "row_id"
_CODE = "_morton"
_BITS = 16  # per axis: a 48-bit code
_FANOUT_BITS = 6  # 64 buckets per partition pass (two octree levels)

F64 = npt.NDArray[np.float64]


class QueryLimitError(ValueError):
    """A query asks for more than the limits allow; ``field`` names the request field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class RowNotFound(LookupError):
    pass


@dataclass(frozen=True)
class QueryLimits:
    max_samples: int = 10_000
    max_k: int = 1_000
    #: Rows a single query may read from the index; bounds time and memory.
    max_scan_rows: int = 5_000_000
    #: Largest region, as a fraction of the dataset's bounding volume (after clamping the
    #: region to it). 1.0 lets any region through and leaves the bound to the scan budget.
    max_region_fraction: float = 1.0


@dataclass(frozen=True)
class IndexSettings:
    rows_per_group: int = 16_384
    memory_rows: int = 2_000_000
    read_batch_rows: int = 262_144


# --- Morton codes ---------------------------------------------------------------------------


def morton_codes(xyz: F64, lo: F64, hi: F64) -> npt.NDArray[np.uint64]:
    """48-bit Morton codes of (N, 3) points quantised over the box ``[lo, hi]``."""
    span = np.where(hi > lo, hi - lo, 1.0)
    scale = (1 << _BITS) - 1
    q = np.clip(np.nan_to_num((xyz - lo) / span, nan=0.0), 0.0, 1.0) * scale
    return morton.encode16(q.astype(np.uint32))


# --- building the index --------------------------------------------------------------------


Columns = tuple[str, str, str]
XYZ: Columns = ("x", "y", "z")


def _as_float(col: pa.Array | pa.ChunkedArray) -> F64:
    """A column as float64, nulls as NaN (times as their integer ticks, booleans as 0/1)."""
    if pa.types.is_temporal(col.type):
        col = col.cast(pa.int64())
    elif pa.types.is_boolean(col.type):
        col = col.cast(pa.uint8())
    filled = col.cast(pa.float64()).fill_null(math.nan)
    return np.asarray(filled.to_numpy(zero_copy_only=False), np.float64)


def _xyz(table: pa.Table | pa.RecordBatch, columns: Columns = XYZ) -> F64:
    return np.stack([_as_float(table.column(c)) for c in columns], axis=1)


def _dataset_bounds(pf: pq.ParquetFile, batch_rows: int, columns: Columns = XYZ) -> tuple[F64, F64]:
    lo = np.full(3, np.inf)
    hi = np.full(3, -np.inf)
    for batch in pf.iter_batches(batch_size=batch_rows, columns=list(columns)):
        xyz = _xyz(batch, columns)
        if len(xyz):
            lo = np.fmin(lo, np.fmin.reduce(xyz, axis=0))
            hi = np.fmax(hi, np.fmax.reduce(xyz, axis=0))
    if not np.all(np.isfinite(lo)):
        return np.zeros(3), np.zeros(3)
    return lo, hi


class _GroupWriter:
    """Writes index row groups and records each group's exact bounding box."""

    def __init__(
        self, path: Path, schema: pa.Schema, rows_per_group: int, columns: Columns
    ) -> None:
        self.writer = pq.ParquetWriter(path, schema)
        self.schema = schema
        self.columns = columns
        self.rows_per_group = rows_per_group
        self.lo: list[F64] = []
        self.hi: list[F64] = []
        self.rows: list[int] = []

    def write_sorted(self, table: pa.Table) -> None:
        table = table.drop_columns([_CODE]).select(self.schema.names)
        for start in range(0, table.num_rows, self.rows_per_group):
            chunk = table.slice(start, self.rows_per_group)
            xyz = _xyz(chunk, self.columns)
            # fmin/fmax skip NaN (a null position) without warning; an all-null group's
            # box is NaN, which no region meets.
            self.lo.append(np.fmin.reduce(xyz, axis=0))
            self.hi.append(np.fmax.reduce(xyz, axis=0))
            self.rows.append(chunk.num_rows)
            self.writer.write_table(chunk, row_group_size=self.rows_per_group)

    def close(self) -> None:
        self.writer.close()


def _bucket_of(codes: npt.NDArray[np.uint64], shift: int) -> npt.NDArray[np.int64]:
    return ((codes >> np.uint64(shift)) & np.uint64((1 << _FANOUT_BITS) - 1)).astype(np.int64)


def _distribute(
    tables: Iterable[pa.Table], shift: int, workdir: Path, schema: pa.Schema
) -> list[tuple[Path, int]]:
    """Split a stream into up to 64 bucket files by the code bits at ``shift``."""
    writers: dict[int, pq.ParquetWriter] = {}
    counts: dict[int, int] = {}
    paths: dict[int, Path] = {}
    try:
        for table in tables:
            codes = np.asarray(table.column(_CODE).to_numpy(), dtype=np.uint64)
            buckets = _bucket_of(codes, shift)
            order = np.argsort(buckets, kind="stable")
            sorted_buckets = buckets[order]
            table = table.take(pa.array(order))
            edges = np.flatnonzero(np.diff(sorted_buckets)) + 1
            starts = np.concatenate([[0], edges])
            ends = np.concatenate([edges, [len(order)]])
            for s, e in zip(starts, ends, strict=True):
                b = int(sorted_buckets[s])
                if b not in writers:
                    paths[b] = workdir / f"b{shift}_{b}_{uuid.uuid4().hex[:8]}.parquet"
                    writers[b] = pq.ParquetWriter(paths[b], schema)
                    counts[b] = 0
                writers[b].write_table(table.slice(int(s), int(e - s)))
                counts[b] += int(e - s)
    finally:
        for w in writers.values():
            w.close()
    return [(paths[b], counts[b]) for b in sorted(paths)]


def _iter_file(path: Path, batch_rows: int) -> Iterator[pa.Table]:
    pf = pq.ParquetFile(path)
    for batch in pf.iter_batches(batch_size=batch_rows):
        yield pa.Table.from_batches([batch])


def _sort_out(
    tables: Iterable[pa.Table],
    n_rows: int,
    shift: int,
    out: _GroupWriter,
    workdir: Path,
    schema: pa.Schema,
    settings: IndexSettings,
) -> None:
    if n_rows <= settings.memory_rows:
        parts = list(tables)
        table = pa.concat_tables(parts) if parts else None
        if table is not None and table.num_rows:
            out.write_sorted(table.sort_by(_CODE))
        return
    if shift < 0:
        # Over the memory budget and all in one finest cell: order no longer matters.
        for table in tables:
            out.write_sorted(table)
        return
    for path, count in _distribute(tables, shift, workdir, schema):
        try:
            sub = _iter_file(path, settings.read_batch_rows)
            _sort_out(sub, count, shift - _FANOUT_BITS, out, workdir, schema, settings)
        finally:
            path.unlink(missing_ok=True)


def _source_signature(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def default_index_dir(canonical: str | Path, columns: Columns = XYZ) -> Path:
    """``<file>.qindex`` over x, y, z; ``<file>.qindex-<a>-<b>-<c>`` over other columns (a
    chart's axes), named by a digest so any column name makes a safe file name."""
    p = Path(canonical)
    if columns == XYZ:
        return p.with_name(p.name + ".qindex")
    digest = hashlib.sha256("\0".join(columns).encode()).hexdigest()[:16]
    return p.with_name(f"{p.name}.qindex-{digest}")


#: Indexes over other columns (a chart's axes) kept per canonical file. Each is a full copy
#: of the file's rows, one per set of axes a scene asks for: unbounded, an editor could fill
#: the disk by making scenes over every combination of columns. The least recently opened
#: goes first; a query that needs it again rebuilds it.
MAX_AXIS_INDEXES = 4


def _make_room_for_an_axis_index(canonical: Path) -> None:
    """Remove the least recently used axis indexes of ``canonical`` until one more fits."""
    named = re.compile(re.escape(canonical.name) + r"\.qindex-[0-9a-f]{16}")
    existing = sorted(
        (entry.stat().st_mtime_ns, entry)
        for entry in canonical.parent.iterdir()
        if named.fullmatch(entry.name) and entry.is_dir()
    )
    for _, stale in existing[: max(0, len(existing) - MAX_AXIS_INDEXES + 1)]:
        # A query still reading it keeps its open files (POSIX); the next one rebuilds it.
        shutil.rmtree(stale, ignore_errors=True)


def build_index(
    canonical: str | Path,
    index_dir: str | Path | None = None,
    settings: IndexSettings = IndexSettings(),
    columns: Columns = XYZ,
) -> Path:
    """Build the spatial index of ``canonical`` over ``columns`` (its x, y, z unless a chart
    asks for others) into ``index_dir`` (atomically renamed)."""
    src = Path(canonical)
    target = Path(index_dir) if index_dir is not None else default_index_dir(src, columns)
    pf = pq.ParquetFile(src)
    schema = pf.schema_arrow
    lo, hi = _dataset_bounds(pf, settings.read_batch_rows, columns)
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        spill = staging / "spill"
        spill.mkdir()
        spill_schema = schema.append(pa.field(_CODE, pa.uint64()))

        def with_codes() -> Iterator[pa.Table]:
            for batch in pf.iter_batches(batch_size=settings.read_batch_rows):
                table = pa.Table.from_batches([batch])
                codes = morton_codes(_xyz(table, columns), lo, hi)
                yield table.append_column(_CODE, pa.array(codes, type=pa.uint64()))

        out = _GroupWriter(staging / "points.parquet", schema, settings.rows_per_group, columns)
        try:
            top_shift = 3 * _BITS - _FANOUT_BITS
            _sort_out(
                with_codes(), pf.metadata.num_rows, top_shift, out, spill, spill_schema, settings
            )
        finally:
            out.close()
        shutil.rmtree(spill)
        np.savez(
            staging / "groups.npz",
            lo=np.array(out.lo, dtype=np.float64).reshape(-1, 3),
            hi=np.array(out.hi, dtype=np.float64).reshape(-1, 3),
            rows=np.array(out.rows, dtype=np.int64),
        )
        manifest = {
            "version": INDEX_VERSION,
            "source": _source_signature(src),
            "rows": int(sum(out.rows)),
            "bounds": [lo.tolist(), hi.tolist()],
            "columns": list(columns),
        }
        (staging / "manifest.json").write_text(json.dumps(manifest))
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(staging, target)
        except OSError:
            if not _is_current(target, src):  # another worker won the race with a good one
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _is_current(index_dir: Path, canonical: Path, columns: Columns = XYZ) -> bool:
    try:
        manifest = json.loads((index_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return bool(
        manifest.get("version") == INDEX_VERSION
        and manifest.get("source") == _source_signature(canonical)
        and tuple(manifest.get("columns", XYZ)) == columns
    )


# --- results -------------------------------------------------------------------------------


@dataclass
class ColumnSummary:
    min: float | None
    max: float | None
    mean: float | None


@dataclass
class RegionResult:
    count: int
    stats: dict[str, ColumnSummary]
    samples: list[dict[str, Any]]
    scanned_rows: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "stats": {k: vars(v) for k, v in self.stats.items()},
            "samples": self.samples,
        }


@dataclass
class Neighbour:
    distance: float
    row: dict[str, Any]


@dataclass
class KnnResult:
    neighbours: list[Neighbour] = field(default_factory=list)
    scanned_rows: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"neighbours": [{"distance": n.distance, **n.row} for n in self.neighbours]}


def _json_rows(table: pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    for row in rows:
        for k, v in row.items():
            if isinstance(v, float) and not math.isfinite(v):
                row[k] = None
    return rows


class _Accumulator:
    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        n = len(columns)
        self.lo = np.full(n, np.inf)
        self.hi = np.full(n, -np.inf)
        self.total = np.zeros(n)
        self.count = np.zeros(n, dtype=np.int64)

    def add(self, table: pa.Table) -> None:
        for i, name in enumerate(self.columns):
            col = table.column(name)
            if pa.types.is_boolean(col.type):
                col = col.cast(pa.uint8())
            v = np.asarray(col.cast(pa.float64()).fill_null(math.nan).to_numpy(), np.float64)
            v = v[np.isfinite(v)]
            if len(v):
                self.lo[i] = min(self.lo[i], v.min())
                self.hi[i] = max(self.hi[i], v.max())
                self.total[i] += v.sum()
                self.count[i] += len(v)

    def result(self) -> dict[str, ColumnSummary]:
        out = {}
        for i, name in enumerate(self.columns):
            if self.count[i]:
                mean = float(self.total[i] / self.count[i])
                out[name] = ColumnSummary(float(self.lo[i]), float(self.hi[i]), mean)
            else:
                out[name] = ColumnSummary(None, None, None)
        return out


def _numeric_columns(schema: pa.Schema) -> list[str]:
    return [
        f.name
        for f in schema
        if f.name != ROW_ID
        and (
            pa.types.is_integer(f.type)
            or pa.types.is_floating(f.type)
            or pa.types.is_boolean(f.type)
        )
    ]


def _point(value: Sequence[float], field: str) -> F64:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)):
        raise QueryLimitError(field, "expected three finite numbers [x, y, z]")
    return arr


# --- the index -----------------------------------------------------------------------------


class SpatialIndex:
    """An opened spatial index. Cheap to keep per dataset: a few arrays and a file handle."""

    def __init__(
        self, canonical: Path, index_dir: Path, limits: QueryLimits, columns: Columns = XYZ
    ) -> None:
        self.canonical = canonical
        self.columns = columns
        self.index_dir = index_dir
        self.limits = limits
        groups = np.load(index_dir / "groups.npz")
        self.lo: F64 = groups["lo"]
        self.hi: F64 = groups["hi"]
        self.rows: npt.NDArray[np.int64] = groups["rows"]
        manifest = json.loads((index_dir / "manifest.json").read_text())
        self.bounds = (np.array(manifest["bounds"][0]), np.array(manifest["bounds"][1]))
        self.total_rows = int(manifest["rows"])
        self.file = pq.ParquetFile(index_dir / "points.parquet")
        self.schema = self.file.schema_arrow
        self.numeric = _numeric_columns(self.schema)

    @classmethod
    def open(
        cls,
        canonical: str | Path,
        *,
        index_dir: str | Path | None = None,
        limits: QueryLimits = QueryLimits(),
        settings: IndexSettings = IndexSettings(),
        columns: Columns = XYZ,
    ) -> SpatialIndex:
        """Open the cached index of ``canonical`` over ``columns``, building it first if
        missing or stale."""
        src = Path(canonical)
        target = Path(index_dir) if index_dir is not None else default_index_dir(src, columns)
        if not _is_current(target, src, columns):
            if columns != XYZ and index_dir is None:
                _make_room_for_an_axis_index(src)
            build_index(src, target, settings, columns)
        elif columns != XYZ:
            try:
                os.utime(target)  # recently used: the last to be evicted
                return cls(src, target, limits, columns)
            except FileNotFoundError:  # evicted by another query just now
                build_index(src, target, settings, columns)
        return cls(src, target, limits, columns)

    # --- regions ---

    def _check_region(self, lo: F64, hi: F64, field: str) -> None:
        if self.limits.max_region_fraction >= 1.0:
            return
        dlo, dhi = self.bounds
        extent = np.maximum(dhi - dlo, 1e-12)
        clamped = np.clip(np.minimum(hi, dhi) - np.maximum(lo, dlo), 0, None)
        fraction = float(np.prod(clamped / extent))
        if fraction > self.limits.max_region_fraction:
            raise QueryLimitError(
                field,
                f"the region covers {fraction:.0%} of the dataset's extent; "
                f"the limit is {self.limits.max_region_fraction:.0%}",
            )

    def _candidates(self, lo: F64, hi: F64, field: str) -> npt.NDArray[np.int64]:
        hit = np.all((self.lo <= hi) & (self.hi >= lo), axis=1)
        groups = np.flatnonzero(hit)
        scanned = int(self.rows[groups].sum())
        if scanned > self.limits.max_scan_rows:
            raise QueryLimitError(
                field,
                f"the region reaches about {scanned} points; a query may read "
                f"{self.limits.max_scan_rows}: make it smaller",
            )
        return groups

    def _region(
        self, lo: F64, hi: F64, inside: Any, samples: int | None, field: str
    ) -> RegionResult:
        return self.where(
            lo, hi, lambda table: inside(_xyz(table, self.columns)), samples=samples, field=field
        )

    def where(
        self,
        lo: F64,
        hi: F64,
        select: Callable[[pa.Table], npt.NDArray[np.bool_]],
        *,
        samples: int | None = None,
        field: str = "max",
        columns: Sequence[str] = (),
    ) -> RegionResult:
        """The rows ``select`` keeps among those in row groups meeting the box ``lo``..``hi``
        (in the index's columns), which must hold every row ``select`` can keep. ``select``
        sees the numeric columns and ``columns``; the scan budget applies to the groups
        read."""
        if samples is None:
            samples = min(DEFAULT_SAMPLES, self.limits.max_samples)
        if not 0 <= samples <= self.limits.max_samples:
            raise QueryLimitError("samples", f"at most {self.limits.max_samples} samples")
        self._check_region(lo, hi, field)
        groups = self._candidates(lo, hi, field)
        acc = _Accumulator(self.numeric)
        matched: list[tuple[int, npt.NDArray[np.int64]]] = []
        wanted = list(dict.fromkeys([*self.numeric, *self.columns, *columns]))
        for g in groups:
            table = self.file.read_row_group(int(g), columns=wanted)
            idx = np.flatnonzero(select(table))
            if len(idx):
                acc.add(table.take(pa.array(idx)))
                matched.append((int(g), idx))
        count = sum(len(idx) for _, idx in matched)
        rows = self._spread_samples(matched, count, samples)
        return RegionResult(count, acc.result(), rows, int(self.rows[groups].sum()))

    def _spread_samples(
        self, matched: list[tuple[int, npt.NDArray[np.int64]]], count: int, n: int
    ) -> list[dict[str, Any]]:
        if n == 0 or count == 0:
            return []
        # Evenly spaced positions along the Morton order are evenly spread in space.
        wanted = np.unique((np.arange(min(n, count)) * count) // min(n, count))
        out: list[dict[str, Any]] = []
        seen = 0
        for g, idx in matched:
            here = wanted[(wanted >= seen) & (wanted < seen + len(idx))] - seen
            seen += len(idx)
            if len(here):
                table = self.file.read_row_group(g).take(pa.array(idx[here]))
                out.extend(_json_rows(table))
        return out

    def box(
        self,
        min_corner: Sequence[float],
        max_corner: Sequence[float],
        *,
        samples: int | None = None,
    ) -> RegionResult:
        lo, hi = _point(min_corner, "min"), _point(max_corner, "max")
        if np.any(lo > hi):
            raise QueryLimitError("max", "every max must be >= the matching min")

        def inside(xyz: F64) -> npt.NDArray[np.bool_]:
            hit: npt.NDArray[np.bool_] = np.all((xyz >= lo) & (xyz <= hi), axis=1)
            return hit

        return self._region(lo, hi, inside, samples, "max")

    def sphere(
        self, center: Sequence[float], radius: float, *, samples: int | None = None
    ) -> RegionResult:
        c = _point(center, "center")
        if not (math.isfinite(radius) and radius >= 0):
            raise QueryLimitError("radius", "expected a finite radius >= 0")
        r2 = radius * radius

        def inside(xyz: F64) -> npt.NDArray[np.bool_]:
            d = xyz - c
            hit: npt.NDArray[np.bool_] = np.einsum("ij,ij->i", d, d) <= r2
            return hit

        return self._region(c - radius, c + radius, inside, samples, "radius")

    # --- nearest neighbours ---

    def knn(self, point: Sequence[float], k: int) -> KnnResult:
        p = _point(point, "point")
        if not 1 <= k <= self.limits.max_k:
            raise QueryLimitError("k", f"k must be between 1 and {self.limits.max_k}")
        if len(self.rows) == 0:
            return KnnResult()
        gap = np.maximum(np.maximum(self.lo - p, p - self.hi), 0.0)
        group_dist = np.sqrt(np.einsum("ij,ij->i", gap, gap))
        order = np.argsort(group_dist, kind="stable")
        best_d = np.empty(0)
        best_g = np.empty(0, dtype=np.int64)
        best_i = np.empty(0, dtype=np.int64)
        scanned = 0
        for g in order:
            if len(best_d) == k and group_dist[g] > best_d[-1]:
                break
            scanned += int(self.rows[g])
            if scanned > self.limits.max_scan_rows:
                raise QueryLimitError("k", "too many points to search; ask for fewer")
            xyz = _xyz(self.file.read_row_group(int(g), columns=list(self.columns)), self.columns)
            d = np.sqrt(np.einsum("ij,ij->i", xyz - p, xyz - p))
            d = np.where(np.isnan(d), np.inf, d)
            local = np.arange(len(d), dtype=np.int64)
            if len(d) > k:  # only this group's k nearest can enter the result
                local = np.argpartition(d, k - 1)[:k]
                d = d[local]
            all_d = np.concatenate([best_d, d])
            all_g = np.concatenate([best_g, np.full(len(d), g, dtype=np.int64)])
            all_i = np.concatenate([best_i, local])
            keep = np.argsort(all_d, kind="stable")[:k]
            best_d, best_g, best_i = all_d[keep], all_g[keep], all_i[keep]
        result = KnnResult(scanned_rows=scanned)
        rows: dict[tuple[int, int], dict[str, Any]] = {}
        for g in np.unique(best_g):
            local = best_i[best_g == g]
            table = self.file.read_row_group(int(g)).take(pa.array(local))
            for i, row in zip(local, _json_rows(table), strict=True):
                rows[(int(g), int(i))] = row
        for d, g, i in zip(best_d, best_g, best_i, strict=True):
            if math.isfinite(d):
                result.neighbours.append(Neighbour(float(d), rows[(int(g), int(i))]))
        return result

    # --- pick ---

    def pick(self, row_id: int) -> dict[str, Any]:
        """The full row whose ``row_id`` is ``row_id`` (from the canonical file)."""
        return pick_row(self.canonical, row_id, self.limits)


def pick_row(
    canonical: str | Path, row_id: int, limits: QueryLimits = QueryLimits()
) -> dict[str, Any]:
    """Find a row by ``row_id``, skipping row groups by their row_id statistics.

    Ingest writes rows in source order, so statistics normally lead to one row group.
    """
    if isinstance(row_id, bool) or not isinstance(row_id, int) or row_id < 0:
        raise QueryLimitError("row", "expected a row number >= 0")
    pf = pq.ParquetFile(canonical)
    meta = pf.metadata
    names = pf.schema_arrow.names
    if ROW_ID not in names:
        raise RowNotFound(row_id)
    col = names.index(ROW_ID)
    scanned = 0
    for rg in range(meta.num_row_groups):
        st = meta.row_group(rg).column(col).statistics
        if st is not None and st.has_min_max and not st.min <= row_id <= st.max:
            continue
        scanned += meta.row_group(rg).num_rows
        if scanned > limits.max_scan_rows:
            raise QueryLimitError("row", "the row could not be found within the scan budget")
        ids = pf.read_row_group(rg, columns=[ROW_ID]).column(0)
        hit = pc.index(ids, row_id).as_py()
        if hit >= 0:
            return _json_rows(pf.read_row_group(rg).slice(hit, 1))[0]
    raise RowNotFound(row_id)
