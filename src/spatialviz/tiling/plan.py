"""Stage 1: the counting pass and the chunk plan.

One streaming pass over the source finds the bounds (unless the header gave trustworthy
ones), the colour depth and how many points fall in each cell of a coarse 128^3 grid.
Cells are then merged up the octree into *chunks*: the largest octree nodes whose point
count fits :meth:`TilingOptions.chunk_points`, so that each chunk can later be indexed in
memory, by any worker, independently of the others.
"""

from __future__ import annotations

import ctypes
import shutil
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from spatialviz.formats.base import (
    COLOR_COLUMNS,
    POSITION_COLUMNS,
    ROW_ID_COLUMN,
    PointReader,
    SourceInfo,
)
from spatialviz.geodesy import GeoFacts, LocalFrame, georeference, source_crs
from spatialviz.tiling import morton
from spatialviz.tiling.metadata import METADATA_TYPES
from spatialviz.tiling.options import TilingOptions

PointSource = Callable[[], PointReader]
"""Opens the input afresh. Must be picklable (a module-level function or a
``functools.partial`` of one) because every stage runs it in its own process."""

ProgressFn = Callable[[str, float], None]
CancelFn = Callable[[], bool]

COUNT_LEVEL = 7
"""Counting grid: 128^3 cells (2 M counters, 16 MB)."""

ONE_BIT_FIELDS = frozenset(
    {"synthetic", "key_point", "withheld", "overlap", "scan_direction_flag", "edge_of_flight_line"}
)
"""LAS's one-bit point fields, which readers hand over as uint8: tiles store them as
bit-packed BOOLEAN properties (a tile whose values are not all 0/1 keeps the integers)."""

ALWAYS_IN_TILE = frozenset({ROW_ID_COLUMN, "point_size"})
"""Columns every tile carries whatever the encoding: the row id is a pick's identity (the
client asks the server for the row by it); ``point_size`` exists only when the encoding
sizes points by a column, so the encoding needs it."""

BUCKET_LEVEL = 3
"""While counting, points are already written to one file per level-3 node (<= 512): a
chunk is then a union of buckets (or, if dense, a filtered part of one), so the source is
read once instead of twice when its header gives the bounds."""


class TilingCancelledError(Exception):
    """The cancel check asked to stop; nothing was published."""


class TilingError(Exception):
    """The input cannot be tiled (no points, no positions, ...)."""


class TilesetGeoref(GeoFacts):
    """The CRS module's facts and its warnings, as the tileset's metadata records them."""

    warnings: list[str]


@dataclass(frozen=True)
class Chunk:
    id: int
    level: int
    key: int
    count: int


@dataclass(frozen=True)
class Plan:
    """Everything the later stages need; plain data so it pickles to any worker."""

    source: PointSource
    options: TilingOptions
    workdir: str
    """Scratch space shared by all stages (chunk files)."""
    output_dir: str
    """Where tiles are written before the run publishes them."""
    origin: tuple[float, float, float]
    """Minimum corner of the root cube."""
    size: float
    center: tuple[float, float, float]
    """Origin of the tiles' coordinates (the bounds' centre), in the frame below."""
    bounds_min: tuple[float, float, float]
    bounds_max: tuple[float, float, float]
    total_points: int
    columns: tuple[tuple[str, str], ...]
    """Stored columns besides x, y, z: (name, numpy dtype)."""
    color_shift: int
    """8 when the colours are 16-bit."""
    chunks: tuple[Chunk, ...]
    crs_wkt: str | None
    frame: LocalFrame | None = None
    """When the source is georeferenced, every coordinate above (origin, bounds, bucket
    records) is in this east-north-up metre frame, not in source units."""
    georef: TilesetGeoref | None = None
    """The CRS module's facts and warnings about the source's label."""

    @property
    def record_dtype(self) -> np.dtype[np.void]:
        return record_dtype(self.columns)

    def bucket_path(self, bucket: int) -> Path:
        return bucket_file(self.workdir, bucket)

    def root_path(self, chunk_id: int) -> Path:
        return Path(self.workdir) / "roots" / f"{chunk_id}.bin"

    @property
    def has_color(self) -> bool:
        return any(name == "red" for name, _ in self.columns)

    @property
    def property_names(self) -> list[str]:
        return [name for name, _ in self.columns if name not in COLOR_COLUMNS]

    @property
    def tile_property_names(self) -> list[str]:
        """The columns each tile's own property table holds (see
        :attr:`TilingOptions.tile_properties`)."""
        keep = self.options.tile_properties
        if keep == "all":
            return self.property_names
        return [n for n in self.property_names if n in ALWAYS_IN_TILE or n in keep]

    @property
    def sidecar_property_names(self) -> list[str]:
        """The columns that go to the nodes' sidecars instead (empty: no sidecars)."""
        inline = set(self.tile_property_names)
        return [n for n in self.property_names if n not in inline]

    @property
    def flag_names(self) -> frozenset[str]:
        """Integer columns that are one-bit flags (stored as booleans where they hold 0/1)."""
        return frozenset(
            name for name, dt in self.columns if name in ONE_BIT_FIELDS and np.dtype(dt).kind == "u"
        )


def columns_of(
    batch: pa.RecordBatch,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The x, y, z columns of a batch as float64 arrays (zero-copy when they already are)."""
    names = batch.schema.names
    if not all(c in names for c in POSITION_COLUMNS):
        raise TilingError("the source has no x, y, z columns")
    x, y, z = (
        batch.column(c).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        for c in POSITION_COLUMNS
    )
    return x, y, z


def _batches(source: PointSource) -> Iterator[pa.RecordBatch]:
    """The source's batches, read one ahead in a thread: decoding the next batch overlaps
    our numpy work on this one (both release the GIL for most of their time)."""
    reader = source()
    try:
        with ThreadPoolExecutor(1) as pool:
            it = iter(reader.iter_batches())
            pending = pool.submit(next, it, None)
            while True:
                batch = pending.result()
                if batch is None:
                    break
                pending = pool.submit(next, it, None)
                yield batch
    finally:
        reader.close()


def choose_columns(schema: pa.Schema, options: TilingOptions) -> tuple[tuple[str, str], ...]:
    """Which source columns travel into the tiles, with their stored numpy dtype."""
    names = schema.names
    chosen: list[tuple[str, str]] = []
    if all(c in names for c in COLOR_COLUMNS):
        chosen += [(c, "<u2") for c in COLOR_COLUMNS]
    if options.attributes == "rgb":
        return tuple(chosen)
    wanted = [n for n in names if n not in POSITION_COLUMNS and n not in COLOR_COLUMNS]
    if isinstance(options.attributes, tuple):
        wanted = [n for n in wanted if n in options.attributes]
    for name in wanted:
        typ = schema.field(name).type
        if pa.types.is_boolean(typ):
            chosen.append((name, "|b1"))
            continue
        if not (pa.types.is_integer(typ) or pa.types.is_floating(typ)):
            continue  # strings, timestamps...: not a per-point property we can style by
        dt = np.dtype(typ.to_pandas_dtype()).newbyteorder("<")
        if dt.name not in METADATA_TYPES:
            dt = np.dtype("<f8")
        chosen.append((name, dt.str))
    if ROW_ID_COLUMN in names and all(n != ROW_ID_COLUMN for n, _ in chosen):
        chosen.append((ROW_ID_COLUMN, "<i8"))
    return tuple(chosen)


@dataclass
class _Scan:
    lo: npt.NDArray[np.float64]
    hi: npt.NDArray[np.float64]
    total: int
    color_max: int
    schema: pa.Schema | None
    counts: npt.NDArray[np.int64] | None


def bucket_file(workdir: str, bucket: int) -> Path:
    return Path(workdir) / "buckets" / f"{bucket}.bin"


class _BucketWriter:
    """Appends each batch's points to the file of their level-3 bucket, as raw records."""

    def __init__(self, workdir: str, options: TilingOptions) -> None:
        self.workdir = workdir
        self.options = options
        self.columns: tuple[tuple[str, str], ...] | None = None
        self.files: dict[int, BinaryIO] = {}
        (Path(workdir) / "buckets").mkdir(parents=True, exist_ok=True)

    def arrange(
        self,
        batch: pa.RecordBatch,
        xyz: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]],
        cells: morton.U64,
    ) -> list[tuple[int, npt.NDArray[np.void]]]:
        """The batch as records grouped by bucket (no I/O, so it can run in a thread)."""
        assert self.columns is not None, "columns are chosen before the first batch"
        dtype = record_dtype(self.columns)
        buckets = (cells >> np.uint64(3 * (COUNT_LEVEL - BUCKET_LEVEL))).astype(np.uint16)
        order = np.argsort(buckets, kind="stable")  # uint16: numpy's O(n) radix sort
        rec = np.empty(batch.num_rows, dtype=dtype)
        names = batch.schema.names
        for i, name in enumerate(POSITION_COLUMNS):
            rec[name] = xyz[i][order]
        for name, _dt in self.columns:
            if name in names:
                rec[name] = batch.column(name).to_numpy(zero_copy_only=False)[order]
            else:
                rec[name] = 0  # a column missing from one batch: keep the layout
        sorted_b = buckets[order]
        cuts = np.flatnonzero(np.diff(sorted_b)) + 1
        starts = np.concatenate([[0], cuts]).tolist()
        ends = np.concatenate([cuts, [len(sorted_b)]]).tolist()
        return [(int(sorted_b[s]), rec[s:e]) for s, e in zip(starts, ends, strict=True)]

    def append(self, parts: list[tuple[int, npt.NDArray[np.void]]]) -> None:
        """Append arranged records to their bucket files (in batch order: deterministic)."""
        for bucket, records in parts:
            if bucket not in self.files:
                self.files[bucket] = open(bucket_file(self.workdir, bucket), "wb")  # noqa: SIM115
            records.tofile(self.files[bucket])

    def close(self) -> None:
        for f in self.files.values():
            f.close()
        self.files.clear()


def record_dtype(columns: tuple[tuple[str, str], ...]) -> np.dtype[np.void]:
    fields = [("x", "<f8"), ("y", "<f8"), ("z", "<f8")]
    return np.dtype(fields + [(name, dt) for name, dt in columns])


SCAN_THREADS = 2
"""Batches examined at once. numpy and Arrow release the GIL for the heavy part of each
step, so on 2 cores two batches plus the reader's read-ahead keep both busy; results are
absorbed in batch order, so bucket files (and the tiles) do not depend on timing."""


@dataclass
class _Examined:
    """What one batch contributes to the scan (computed off the main thread)."""

    rows: int
    lo: npt.NDArray[np.float64]
    hi: npt.NDArray[np.float64]
    color_max: int
    cell_counts: npt.NDArray[np.int64] | None
    parts: list[tuple[int, npt.NDArray[np.void]]]


def _examine(
    batch: pa.RecordBatch,
    cube: tuple[npt.NDArray[np.float64], float] | None,
    look_at_color: bool,
    sink: _BucketWriter | None,
    frame: LocalFrame | None = None,
) -> _Examined:
    x, y, z = columns_of(batch)
    if frame is not None:
        x, y, z = frame.to_local(x, y, z)
        if not (np.isfinite(x).all() and np.isfinite(y).all() and np.isfinite(z).all()):
            raise TilingError(
                f"some points cannot be placed on Earth with the CRS {frame.source.crs.name!r}"
            )
    lo = np.empty(3)
    hi = np.empty(3)
    for axis, v in enumerate((x, y, z)):
        lo[axis], hi[axis] = float(v.min()), float(v.max())
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise TilingError("the source has non-finite coordinates")
    color_max = 0
    if look_at_color and "red" in batch.schema.names:
        color_max = max(int(pc.max(batch.column(c)).as_py() or 0) for c in COLOR_COLUMNS)
    counts = None
    parts: list[tuple[int, npt.NDArray[np.void]]] = []
    if cube is not None:
        cells = morton.cells_at(x, y, z, cube[0], cube[1], COUNT_LEVEL)
        counts = np.bincount(cells.astype(np.intp), minlength=8**COUNT_LEVEL)
        if sink is not None:
            parts = sink.arrange(batch, (x, y, z), cells)
    return _Examined(batch.num_rows, lo, hi, color_max, counts, parts)


def _scan(
    source: PointSource,
    cube: tuple[npt.NDArray[np.float64], float] | None,
    progress: Callable[[int], None],
    cancel: CancelFn,
    sink: _BucketWriter | None = None,
    frame: LocalFrame | None = None,
) -> _Scan:
    scan = _Scan(
        lo=np.full(3, np.inf),
        hi=np.full(3, -np.inf),
        total=0,
        color_max=0,
        schema=None,
        counts=np.zeros(8**COUNT_LEVEL, dtype=np.int64) if cube is not None else None,
    )

    def absorb(done: _Examined) -> None:
        np.minimum(scan.lo, done.lo, out=scan.lo)
        np.maximum(scan.hi, done.hi, out=scan.hi)
        scan.color_max = max(scan.color_max, done.color_max)
        if scan.counts is not None and done.cell_counts is not None:
            scan.counts += done.cell_counts
        if sink is not None:
            sink.append(done.parts)
        scan.total += done.rows
        progress(scan.total)

    with ThreadPoolExecutor(SCAN_THREADS) as pool:
        in_flight: deque[Future[_Examined]] = deque()
        try:
            for batch in _batches(source):
                if cancel():
                    raise TilingCancelledError
                if batch.num_rows == 0:
                    continue
                scan.schema = scan.schema or batch.schema
                if sink is not None and sink.columns is None:
                    sink.columns = choose_columns(batch.schema, sink.options)
                # Once 16-bit colour is proven, stop looking.
                look = scan.color_max <= 255
                in_flight.append(pool.submit(_examine, batch, cube, look, sink, frame))
                while len(in_flight) > SCAN_THREADS:
                    absorb(in_flight.popleft().result())
            while in_flight:
                absorb(in_flight.popleft().result())
        finally:
            for future in in_flight:
                future.cancel()
    _give_back_freed_memory()
    return scan


def _give_back_freed_memory() -> None:
    """Return the scan threads' freed heap to the system (glibc keeps it per thread arena:
    +67 MB held by this process through the whole index stage at 30M points)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to trim
        return
    libc.malloc_trim(0)


def root_cube(
    lo: npt.NDArray[np.float64], hi: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], float]:
    """A cube enclosing the bounds with a hair of margin, so no point sits on its far
    faces (which would clamp into the last grid cell of the next node)."""
    extent = float(np.max(hi - lo))
    size = max(extent, 1e-6) * (1 + 1e-6) + 1e-9
    center = (lo + hi) / 2
    return center - size / 2, size


def plan_chunks(counts: npt.NDArray[np.int64], budget: int) -> list[Chunk]:
    """Merge counting cells up the octree into the largest nodes under ``budget``."""
    pyramid = [counts]
    for _ in range(COUNT_LEVEL):
        pyramid.append(pyramid[-1].reshape(-1, 8).sum(axis=1))
    pyramid.reverse()  # pyramid[level][key]
    chunks: list[Chunk] = []
    stack = [(0, 0)]
    while stack:
        level, key = stack.pop()
        count = int(pyramid[level][key])
        if count == 0:
            continue
        if count <= budget or level == COUNT_LEVEL:
            chunks.append(Chunk(id=len(chunks), level=level, key=key, count=count))
        else:
            stack.extend((level + 1, key * 8 + child) for child in range(7, -1, -1))
    return chunks


def plan(
    source: PointSource,
    options: TilingOptions,
    workdir: str,
    output_dir: str,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> Plan:
    """Run the counting pass and decide the chunks."""
    report = progress or (lambda _s, _f: None)
    should_stop = cancel or (lambda: False)
    reader = source()
    info = reader.info
    reader.close()

    def tick(stage: str) -> Callable[[int], None]:
        return lambda done: report(stage, min(1.0, done / declared) if declared else 0.0)

    declared = info.declared_rows or 0
    bounds = info.bounds
    if bounds is None:
        # No bounds in the header: one pass for them first.
        found = _scan(source, None, tick("scan"), should_stop)
        if found.total == 0:
            raise TilingError("the source has no points")
        bounds = (_triple(found.lo), _triple(found.hi))
        declared = found.total
    frame, georef, local = local_frame(info, bounds)
    if frame is not None and local is not None:
        cube = root_cube(*local)
        # pyproj per point costs ~1 s per million for a projected CRS: a verified lookup
        # grid over the bounds makes it ~0.1 s (to within 1 mm, see LocalFrame.with_grid).
        frame = frame.with_grid(bounds[0], bounds[1], declared)
    else:
        cube = root_cube(np.asarray(bounds[0]), np.asarray(bounds[1]))
    report("scan", 1.0)
    writer = _BucketWriter(workdir, options)
    try:
        scan = _scan(source, cube, tick("distribute"), should_stop, writer, frame)
        if scan.total and not _inside(scan.lo, scan.hi, cube):
            # The header lied about the bounds: start the buckets over on the true ones.
            writer.close()
            shutil.rmtree(Path(workdir) / "buckets")
            writer = _BucketWriter(workdir, options)
            cube = root_cube(scan.lo, scan.hi)
            declared = scan.total
            scan = _scan(source, cube, tick("distribute"), should_stop, writer, frame)
    finally:
        writer.close()
    if scan.total == 0 or scan.schema is None:
        raise TilingError("the source has no points")
    assert scan.counts is not None
    report("distribute", 1.0)
    center = (scan.lo + scan.hi) / 2
    chunks = plan_chunks(scan.counts, options.chunk_points())
    (Path(workdir) / "roots").mkdir(parents=True, exist_ok=True)
    (Path(output_dir) / "tiles").mkdir(parents=True, exist_ok=True)
    return Plan(
        source=source,
        options=options,
        workdir=workdir,
        output_dir=output_dir,
        origin=_triple(cube[0]),
        size=cube[1],
        center=_triple(center),
        bounds_min=_triple(scan.lo),
        bounds_max=_triple(scan.hi),
        total_points=scan.total,
        columns=writer.columns or choose_columns(scan.schema, options),
        color_shift=8 if scan.color_max > 255 else 0,
        chunks=tuple(chunks),
        crs_wkt=info.crs_wkt or (f"EPSG:{info.crs_epsg}" if info.crs_epsg else None),
        frame=frame,
        georef=georef,
    )


def local_frame(
    info: SourceInfo, bounds: tuple[tuple[float, float, float], tuple[float, float, float]]
) -> tuple[
    LocalFrame | None,
    TilesetGeoref | None,
    tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None,
]:
    """The east-north-up frame the tiles of ``info`` are built in (None: they stay in source
    units), what the CRS module said, and the bounds' box in that frame. Scene queries in
    the scene's frame call this too, so they see the frame the tiler chose."""
    frame, georef = _georeference(info, bounds)
    local = frame.box_to_local(*bounds) if frame is not None else None
    if frame is not None and local is None:
        if georef is not None:  # the centre placed, not the corners
            georef["placed"] = False
            georef["warnings"].append("Part of the data's extent cannot be placed on Earth.")
        frame = None
    return frame, georef, local


def _georeference(
    info: SourceInfo, bounds: tuple[tuple[float, float, float], tuple[float, float, float]]
) -> tuple[LocalFrame | None, TilesetGeoref | None]:
    """The local metric frame of a georeferenced source (None: tiles stay in source units)
    and what the CRS module found out about its label."""
    described = source_crs(info.crs_wkt, info.crs_epsg, info.units)
    if described is None:
        return None, None
    try:
        found = georeference(described, bounds)
    except Exception as exc:  # pyproj's many errors: tile in source units, and say so
        return None, {"placed": False, "warnings": [f"The CRS could not be used ({exc})."]}
    georef: TilesetGeoref = {**found.facts, "warnings": found.warnings}
    return found.frame, georef


def _inside(
    lo: npt.NDArray[np.float64],
    hi: npt.NDArray[np.float64],
    cube: tuple[npt.NDArray[np.float64], float],
) -> bool:
    origin, size = cube
    return bool(np.all(lo >= origin) and np.all(hi < origin + size))


def _triple(v: npt.NDArray[np.float64]) -> tuple[float, float, float]:
    return (float(v[0]), float(v[1]), float(v[2]))
