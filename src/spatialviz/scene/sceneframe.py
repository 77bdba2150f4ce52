"""The scene frame: where a scene draws each row, so a box drawn in the viewer selects rows.

A scene's tiles hold positions minus a centre (``extras.spatialviz.center`` in
tileset.json). Adding it back gives the *scene frame*:

- a plain scene: the dataset's own x, y, z;
- a georeferenced scene: east-north-up metres at the frame's origin (the root transform
  places them in ECEF), through pyproj from the dataset's CRS;
- a chart scene: chart-box coordinates, each axis's data range mapped onto ``[0, size]``.

Why the server maps the box (``frame: "scene"`` on the query) rather than the client: the
georeferenced mapping needs pyproj and the dataset's CRS, which the browser has neither of,
and a box in east-north-up metres is not axis-aligned in the source CRS (projection scale,
grid convergence, Earth's curvature), so mapping two corners would be wrong. Here the box is
widened to a conservative search box in the index's columns (its surface sampled through
the inverse mapping, with a margin), then every candidate row is mapped forward with the
same formula the scene uses and tested against the box itself (georeferenced rows through
the tiler's verified lookup grid, and through pyproj itself within 5 cm of a face, so the
answer is pyproj's). A chart maps rows with the
tiler's own function (:func:`spatialviz.styling.transform.scene_positions`). Rows the
encoding's filter leaves out of the scene are out of the box too. The client needs only the
recorded centre.

Positions are compared in float64 before the tiles' quantisation (float32 or 16-bit
positions, and the tiler's lookup grid within 1 mm), so a point within a quantum of a face
may be drawn a hair on the other side of it.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from spatialviz.formats.base import SourceInfo
from spatialviz.formats.canonical import read_canonical
from spatialviz.geodesy import LocalFrame
from spatialviz.spatialindex.index import XYZ, Columns
from spatialviz.styling.encoding import ResolvedEncoding
from spatialviz.styling.transform import filter_mask, scene_positions
from spatialviz.tiling.plan import local_frame

F64 = npt.NDArray[np.float64]

#: Points per box edge sampled when bounding a scene box in the source CRS.
_EDGE_SAMPLES = 9

EXACT_BAND_M = 0.05
"""Rows whose grid position is this close to a face of the box are placed through pyproj:
50 times the grid's verified error (GRID_TOLERANCE_M), so the grid only decides rows it
cannot get wrong."""

_CACHE_SIZE = 16
_frames: OrderedDict[tuple[object, ...], LocalFrame | None] = OrderedDict()
_frames_lock = threading.Lock()


def source_info(canonical: Path, enc: ResolvedEncoding) -> SourceInfo:
    """What the tiler is told about a scene's source: the CRS and header bounds hold only
    when positions are the dataset's own x/y/z without a chart box."""
    reader = read_canonical(canonical)
    source = reader.info
    reader.close()
    plain = enc.chart_box is None and (enc.x, enc.y, enc.z) == XYZ
    return SourceInfo(
        format="scene",
        declared_rows=source.declared_rows,
        crs_wkt=source.crs_wkt if plain else None,
        crs_epsg=source.crs_epsg if plain else None,
        bounds=source.bounds if plain else None,
        units=dict(source.units) if plain else {},  # z's unit, for the CRS module
    )


@dataclass(frozen=True)
class SceneFrame:
    """How rows of one scene map into its frame, and which rows are in the scene at all."""

    kind: str  # "dataset", "georeferenced" or "chart"
    columns: Columns  # the spatial index's columns
    enc: ResolvedEncoding
    frame: LocalFrame | None = None

    @property
    def extra_columns(self) -> list[str]:
        """Columns the membership test reads besides the index's numeric ones."""
        return [f.column for f in self.enc.filter]

    def search_box(self, lo: F64, hi: F64) -> tuple[F64, F64]:
        """A box in the index's columns holding every row whose scene position is in
        ``lo``..``hi`` (a superset: the exact test is :meth:`select`)."""
        if self.kind == "chart":
            return self._chart_search_box(lo, hi)
        if self.frame is not None:
            return self._source_search_box(self.frame, lo, hi)
        return lo, hi

    def positions(self, table: pa.Table) -> F64:
        """(N, 3) scene-frame positions of ``table``'s rows (NaN where a row has none)."""
        if self.kind == "chart":
            return np.stack(scene_positions(table, self.enc), axis=1)
        xyz = self._xyz(table)
        if self.frame is None:
            return xyz
        e, n, u = self.frame.exact_local(xyz[:, 0].copy(), xyz[:, 1].copy(), xyz[:, 2].copy())
        return np.stack([e, n, u], axis=1)

    def inside(self, table: pa.Table, lo: F64, hi: F64) -> npt.NDArray[np.bool_]:
        """Which rows' scene positions lie in ``lo``..``hi``, exactly: through the tiler's
        verified lookup grid (within 1 mm of pyproj) where a row is further than
        :data:`EXACT_BAND_M` from every face, through pyproj itself near a face."""
        grid = self.frame.grid if self.frame is not None else None
        if grid is None:
            return _in_box(self.positions(table), lo, hi)
        xyz = self._xyz(table)
        x, y, z = xyz[:, 0].copy(), xyz[:, 1].copy(), xyz[:, 2].copy()
        if not (len(x) and np.isfinite(xyz).all() and grid.covers(x, y)):
            return _in_box(self.positions(table), lo, hi)
        approx = np.stack(grid.interpolate(x, y, z), axis=1)
        keep = _in_box(approx, lo + EXACT_BAND_M, hi - EXACT_BAND_M)
        near = ~keep & _in_box(approx, lo - EXACT_BAND_M, hi + EXACT_BAND_M)
        if near.any():
            assert self.frame is not None
            e, n, u = self.frame.exact_local(x[near], y[near], z[near])
            keep[near] = _in_box(np.stack([e, n, u], axis=1), lo, hi)
        return keep

    def _xyz(self, table: pa.Table) -> F64:
        return np.stack([_floats(table.column(c)) for c in self.columns], axis=1)

    def selector(self, lo: F64, hi: F64) -> Callable[[pa.Table], npt.NDArray[np.bool_]]:
        def select(table: pa.Table) -> npt.NDArray[np.bool_]:
            keep = self.inside(table, lo, hi)
            mask = filter_mask(table, self.enc.filter)
            if mask is not None:
                keep &= np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)
            return keep

        return select

    def _chart_search_box(self, lo: F64, hi: F64) -> tuple[F64, F64]:
        box = self.enc.chart_box
        assert box is not None
        out_lo, out_hi = np.empty(3), np.empty(3)
        for i, axis in enumerate("xyz"):
            dom = getattr(box, axis)
            span = dom.max - dom.min
            if not span > 0:  # every row sits at the axis's middle: let the test decide
                out_lo[i], out_hi[i] = -math.inf, math.inf
                continue
            scale = span / box.size[i]
            # The inverse of (v - min) / span * size, widened past its rounding.
            pad = 1e-9 * span + 1e-12 * max(abs(dom.min), abs(dom.max))
            out_lo[i] = dom.min + lo[i] * scale - pad
            out_hi[i] = dom.min + hi[i] * scale + pad
        return out_lo, out_hi

    @staticmethod
    def _source_search_box(frame: LocalFrame, lo: F64, hi: F64) -> tuple[F64, F64]:
        axes = [np.linspace(lo[i], hi[i], _EDGE_SAMPLES) for i in range(3)]
        ge, gn, gu = (a.reshape(-1) for a in np.meshgrid(*axes, indexing="ij"))
        x, y, z = frame.exact_source(ge, gn, gu)
        pts = np.column_stack([x, y, z])
        if not np.isfinite(pts).all():  # part of the box has no source position
            return np.full(3, -math.inf), np.full(3, math.inf)
        low, high = pts.min(axis=0), pts.max(axis=0)
        # Edges curve between samples: s^2 / 8R is 0.1 mm for 9 samples over 500 m, ~3 m
        # over 100 km, well inside a thousandth of the extent; plus float rounding.
        margin = 1e-3 * (high - low) + 1e-9 * np.maximum(np.abs(low), np.abs(high)) + 1e-3
        return low - margin, high + margin


def _in_box(pos: F64, lo: F64, hi: F64) -> npt.NDArray[np.bool_]:
    inside: npt.NDArray[np.bool_] = np.all((pos >= lo) & (pos <= hi), axis=1)
    return inside


def _floats(col: pa.ChunkedArray | pa.Array) -> F64:
    return np.asarray(col.cast(pa.float64()).fill_null(math.nan).to_numpy(), dtype=np.float64)


def scene_frame(canonical: Path, enc: ResolvedEncoding) -> SceneFrame:
    """The frame a scene of ``canonical`` with encoding ``enc`` is drawn in, as the tiler
    decided it (same inputs, same function)."""
    columns: Columns = (enc.x, enc.y, enc.z)
    if enc.chart_box is not None:
        return SceneFrame("chart", columns, enc)
    frame = _local_frame(canonical, enc)
    if frame is None:
        return SceneFrame("dataset", columns, enc)
    return SceneFrame("georeferenced", columns, enc, frame)


def _local_frame(canonical: Path, enc: ResolvedEncoding) -> LocalFrame | None:
    """The tiler's frame with its lookup grid, kept per file version (a grid over 100 km
    costs seconds of pyproj; queries then map rows ten times faster)."""
    st = canonical.stat()
    key = (str(canonical), st.st_size, st.st_mtime_ns, enc.x, enc.y, enc.z)
    with _frames_lock:
        if key in _frames:
            _frames.move_to_end(key)
            return _frames[key]
    info = source_info(canonical, enc)
    frame = None
    if info.bounds is not None:
        frame, _georef, _local = local_frame(info, info.bounds)
        if frame is not None:
            frame = frame.with_grid(info.bounds[0], info.bounds[1], info.declared_rows or 0)
    with _frames_lock:
        _frames[key] = frame
        while len(_frames) > _CACHE_SIZE:
            _frames.popitem(last=False)
    return frame
