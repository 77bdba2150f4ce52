"""The local metric frame a tileset is built in, and its root transform to ECEF.

Every point goes through pyproj, vectorised per batch: source CRS (its units, projection
and datum) -> ECEF (EPSG:4978) -> east-north-up metres at the frame's origin. That
rotation and translation are exact, so ``root transform x local position`` *is* pyproj's
ECEF position; nothing is approximated by a rigid copy of the map grid, which would ignore
the projection's scale factor (0.24 m over 350 m in Oregon Lambert) and Earth's curvature
(8 cm at 1 km).
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from pyproj import Transformer
from pyproj.enums import TransformDirection
from pyproj.transformer import AreaOfInterest

from spatialviz.geodesy.labels import SourceCrs

ECEF = "EPSG:4978"
F64 = npt.NDArray[np.float64]

_lock = threading.Lock()
_transformers: dict[tuple[str, Area | None], Transformer] = {}

Area = tuple[float, float, float, float]
"""West, south, east, north (degrees) of the data: PROJ then weighs only the operations
valid there (ten times faster to set up, and the one it would pick for these points)."""


def to_ecef_transformer(source: SourceCrs, area: Area | None = None) -> Transformer:
    """pyproj's transformer from ``source`` (3D: z's unit and datum included) to ECEF, made
    once per CRS and area (pyproj transformers are thread-safe; building one is slow)."""
    with _lock:
        found = _transformers.get((source.wkt, area))
        if found is None:
            with warnings.catch_warnings():
                # "Best transformation is not available (missing grid)": the checks say so
                # on the dataset, with what it means for the placement.
                warnings.simplefilter("ignore", UserWarning)
                found = Transformer.from_crs(
                    source.crs_3d, ECEF, always_xy=True, area_of_interest=area_of_interest(area)
                )
            _transformers[(source.wkt, area)] = found
        return found


def area_of_interest(area: Area | None) -> AreaOfInterest | None:
    return AreaOfInterest(*area) if area is not None else None


def to_ecef(
    source: SourceCrs, x: F64, y: F64, z: F64, area: Area | None = None
) -> tuple[F64, F64, F64]:
    """Source coordinates -> ECEF metres (non-finite where pyproj cannot place a point)."""
    heights = z if source.has_vertical else z * source.z_to_metre
    transformer = to_ecef_transformer(source, area)
    ex, ey, ez = transformer.transform(x, y, heights, errcheck=False)
    return (
        np.asarray(ex, dtype=np.float64),
        np.asarray(ey, dtype=np.float64),
        np.asarray(ez, dtype=np.float64),
    )


def lonlat_area(
    source: SourceCrs, lo: tuple[float, float, float], hi: tuple[float, float, float]
) -> Area | None:
    """The data's longitude/latitude box (on the CRS's own datum: a few metres do not
    matter to an area of interest), or None (geocentric, or not computable)."""
    crs = source.crs
    if crs.is_geocentric:
        return None
    if crs.is_geographic:
        lon0, lat0, lon1, lat1 = lo[0], lo[1], hi[0], hi[1]
    else:
        horizontal = crs.sub_crs_list[0] if crs.is_compound else crs
        if horizontal.geodetic_crs is None:
            return None
        to_lonlat = Transformer.from_crs(horizontal, horizontal.geodetic_crs, always_xy=True)
        xs = np.array([lo[0], hi[0], lo[0], hi[0], (lo[0] + hi[0]) / 2, lo[0], hi[0]])
        ys = np.array([lo[1], lo[1], hi[1], hi[1], (lo[1] + hi[1]) / 2, (lo[1] + hi[1]) / 2,
                       (lo[1] + hi[1]) / 2])  # fmt: skip
        lon, lat = to_lonlat.transform(xs, ys, errcheck=False)
        lon, lat = np.asarray(lon), np.asarray(lat)
        if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
            return None
        lon0, lat0, lon1, lat1 = lon.min(), lat.min(), lon.max(), lat.max()
    margin = 0.01
    west, east = float(lon0) - margin, float(lon1) + margin
    south, north = max(float(lat0) - margin, -90.0), min(float(lat1) + margin, 90.0)
    if west < -180.0 or east > 180.0 or south >= north:
        return None  # across the antimeridian or a 0..360 convention: let PROJ search all
    return (west, south, east, north)


def enu_axes(lon_deg: float, lat_deg: float) -> F64:
    """Rows: the east, north and up unit vectors (ECEF) at a geodetic longitude/latitude."""
    lon, lat = np.radians(lon_deg), np.radians(lat_deg)
    sl, cl, sp, cp = np.sin(lon), np.cos(lon), np.sin(lat), np.cos(lat)
    return np.array(
        [
            [-sl, cl, 0.0],
            [-sp * cl, -sp * sl, cp],
            [cp * cl, cp * sl, sp],
        ]
    )


GRID_TOLERANCE_M = 0.001
"""Largest error a lookup grid may add to pyproj's positions (checked when it is built)."""

GRID_CELL_M = 100.0
"""Target cell size: bilinear interpolation of the Earth's curvature errs by about
(dx^2 + dy^2) / (8 R) at a cell's centre, 0.4 mm for 100 m cells; the projection's
distortion varies far more slowly."""

GRID_MAX_CELLS = 1024
"""Per axis. Larger extents than ~100 km stay on the exact path."""


@dataclass(frozen=True)
class LookupGrid:
    """Local positions at the nodes of a regular (x, y) grid over the data.

    Local position is linear in z for a fixed (x, y) (ECEF moves along the ellipsoid normal,
    and every vertical conversion here is a scale plus an offset), so each node holds its
    position at ``z0`` and its change per unit of z, exactly; in x and y it is bilinear
    between nodes, within GRID_TOLERANCE_M (verified against pyproj at every cell centre
    when the grid is built).
    """

    x0: float
    y0: float
    dx: float
    dy: float
    nx: int
    ny: int
    z0: float
    #: ((ny + 1) * (nx + 1), 6): east, north, up at z0, then their change per unit of z
    table: npt.NDArray[np.float64]

    def covers(self, x: F64, y: F64) -> bool:
        x1 = self.x0 + self.nx * self.dx
        y1 = self.y0 + self.ny * self.dy
        return bool(x.min() >= self.x0 and x.max() <= x1 and y.min() >= self.y0 and y.max() <= y1)

    def interpolate(self, x: F64, y: F64, z: F64) -> tuple[F64, F64, F64]:
        fx = (x - self.x0) * (1.0 / self.dx)
        fy = (y - self.y0) * (1.0 / self.dy)
        ix = fx.astype(np.intp)
        np.clip(ix, 0, self.nx - 1, out=ix)
        iy = fy.astype(np.intp)
        np.clip(iy, 0, self.ny - 1, out=iy)
        fx -= ix  # now the position inside the cell, 0..1
        fy -= iy
        cell = iy
        cell *= self.nx
        cell += ix  # cells are numbered row by row
        dz = z - self.z0
        coef = self.cells
        out = []
        for axis in range(3):
            # Per cell: a + b tx + c ty + d tx ty at z0, and the same form for d/dz.
            k = 8 * axis
            v = np.take(coef[:, k + 3], cell)
            v *= fx
            v += np.take(coef[:, k + 2], cell)
            v *= fy
            v += np.take(coef[:, k + 1], cell) * fx
            v += np.take(coef[:, k], cell)
            w = np.take(coef[:, k + 7], cell)
            w *= fx
            w += np.take(coef[:, k + 6], cell)
            w *= fy
            w += np.take(coef[:, k + 5], cell) * fx
            w += np.take(coef[:, k + 4], cell)
            w *= dz
            v += w
            out.append(v)
        return out[0], out[1], out[2]

    @property
    def cells(self) -> npt.NDArray[np.float64]:
        """(ny * nx, 24): per cell and per axis, the bilinear coefficients (a, b, c, d) of
        the position at z0 and of its change per unit of z (computed once per grid)."""
        cached = self.__dict__.get("_cells")
        if cached is None:
            t = self.table.reshape(self.ny + 1, self.nx + 1, 6)
            p00, p01 = t[:-1, :-1], t[:-1, 1:]
            p10, p11 = t[1:, :-1], t[1:, 1:]
            a, b, c, d = p00, p01 - p00, p10 - p00, p11 - p10 - p01 + p00
            per = np.stack([a, b, c, d], axis=-1)  # (ny, nx, 6, 4)
            per = per.reshape(self.ny, self.nx, 2, 3, 4).transpose(0, 1, 3, 2, 4)
            cached = np.ascontiguousarray(per.reshape(self.ny * self.nx, 24))
            object.__setattr__(self, "_cells", cached)
        return cached


@dataclass(frozen=True)
class LocalFrame:
    """East-north-up metres at ``origin`` (ECEF), fed by pyproj from ``source``."""

    source: SourceCrs
    origin: tuple[float, float, float]
    #: rows east, north, up (ECEF unit vectors), flattened
    axes: tuple[float, ...]
    grid: LookupGrid | None = None
    area: Area | None = None

    @classmethod
    def at(
        cls, source: SourceCrs, x: float, y: float, z: float, area: Area | None = None
    ) -> LocalFrame | None:
        """The frame at a source position, or None where pyproj cannot place it."""
        ecef = to_ecef(source, np.array([x]), np.array([y]), np.array([z]), area)
        origin = np.array([float(c[0]) for c in ecef])
        if not np.isfinite(origin).all():
            return None
        lon, lat, _h = Transformer.from_crs(ECEF, "EPSG:4979", always_xy=True).transform(*origin)
        if not (np.isfinite(lon) and np.isfinite(lat)):  # the Earth's centre
            return None
        axes = enu_axes(float(lon), float(lat))
        flat = tuple(axes.reshape(-1).tolist())
        return cls(source, (origin[0], origin[1], origin[2]), flat, area=area)

    @property
    def rotation(self) -> F64:
        return np.asarray(self.axes, dtype=np.float64).reshape(3, 3)

    def to_local(self, x: F64, y: F64, z: F64) -> tuple[F64, F64, F64]:
        """Source coordinates -> local east, north, up metres (vectorised): through the
        lookup grid when it covers the points, else through pyproj."""
        if self.grid is not None and len(x) and self.grid.covers(x, y):
            return self.grid.interpolate(x, y, z)
        return self.exact_local(x, y, z)

    def exact_local(self, x: F64, y: F64, z: F64) -> tuple[F64, F64, F64]:
        """Source coordinates -> local metres, every point through pyproj."""
        ex, ey, ez = to_ecef(self.source, x, y, z, self.area)
        ex -= self.origin[0]
        ey -= self.origin[1]
        ez -= self.origin[2]
        r = self.rotation
        east = r[0, 0] * ex + r[0, 1] * ey  # east has no ECEF z component
        north = r[1, 0] * ex + r[1, 1] * ey + r[1, 2] * ez
        up = r[2, 0] * ex + r[2, 1] * ey + r[2, 2] * ez
        return east, north, up

    def exact_source(self, east: F64, north: F64, up: F64) -> tuple[F64, F64, F64]:
        """Local metres -> source coordinates (the inverse of :meth:`exact_local`, through
        pyproj; non-finite where a position has none in the source CRS)."""
        r = self.rotation
        ex = r[0, 0] * east + r[1, 0] * north + r[2, 0] * up + self.origin[0]
        ey = r[0, 1] * east + r[1, 1] * north + r[2, 1] * up + self.origin[1]
        ez = r[1, 2] * north + r[2, 2] * up + self.origin[2]
        transformer = to_ecef_transformer(self.source, self.area)
        x, y, h = transformer.transform(
            ex, ey, ez, direction=TransformDirection.INVERSE, errcheck=False
        )
        z = np.asarray(h, dtype=np.float64)
        if not self.source.has_vertical:
            z = z / self.source.z_to_metre
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), z

    def with_grid(
        self, lo: tuple[float, float, float], hi: tuple[float, float, float], points: int
    ) -> LocalFrame:
        """This frame with a lookup grid over the box ``lo``..``hi`` (source units), when
        one is worth building for ``points`` points (pyproj costs ~1 us per point for a
        projected CRS with a datum shift; the grid ~0.1 us) and meets GRID_TOLERANCE_M at
        every cell centre; else this frame unchanged (exact)."""
        local = self.box_to_local(lo, hi, samples=3)
        if local is None or hi[0] <= lo[0] or hi[1] <= lo[1]:
            return self
        extent = local[1] - local[0]
        nx = int(np.clip(np.ceil(extent[0] / GRID_CELL_M), 1, GRID_MAX_CELLS))
        ny = int(np.clip(np.ceil(extent[1] / GRID_CELL_M), 1, GRID_MAX_CELLS))
        if 4 * (nx + 1) * (ny + 1) > points:  # the grid would cost as much as the points
            return self
        # A hair of margin so the box's own edges are inside.
        pad_x, pad_y = 1e-6 * (hi[0] - lo[0]), 1e-6 * (hi[1] - lo[1])
        x0, y0 = lo[0] - pad_x, lo[1] - pad_y
        dx, dy = (hi[0] - lo[0] + 2 * pad_x) / nx, (hi[1] - lo[1] + 2 * pad_y) / ny
        z0, z1 = lo[2], hi[2] if hi[2] > lo[2] else lo[2] + 1.0
        gx, gy = np.meshgrid(x0 + dx * np.arange(nx + 1), y0 + dy * np.arange(ny + 1))
        flat_x, flat_y = gx.reshape(-1), gy.reshape(-1)
        at_z0 = np.column_stack(self.exact_local(flat_x, flat_y, np.full(flat_x.size, z0)))
        at_z1 = np.column_stack(self.exact_local(flat_x, flat_y, np.full(flat_x.size, z1)))
        table = np.hstack([at_z0, (at_z1 - at_z0) / (z1 - z0)])
        if not np.isfinite(table).all():
            return self
        grid = LookupGrid(x0, y0, dx, dy, nx, ny, z0, table)
        # Check where bilinear interpolation errs most: the cell centres, mid-height.
        cx, cy = np.meshgrid(x0 + dx * (np.arange(nx) + 0.5), y0 + dy * (np.arange(ny) + 0.5))
        cx, cy = cx.reshape(-1), cy.reshape(-1)
        cz = np.full(cx.size, (z0 + z1) / 2)
        exact = np.column_stack(self.exact_local(cx, cy, cz))
        approx = np.column_stack(grid.interpolate(cx, cy, cz))
        if not float(np.linalg.norm(exact - approx, axis=1).max()) <= GRID_TOLERANCE_M:
            return self
        return replace(self, grid=grid)

    def box_to_local(
        self, lo: tuple[float, float, float], hi: tuple[float, float, float], samples: int = 9
    ) -> tuple[F64, F64] | None:
        """Bounds, in the local frame, of a box given in source coordinates: a grid of its
        points transformed (its edges curve in the frame), with a margin. None when part of
        the box cannot be placed."""
        axes = [np.linspace(lo[i], hi[i], samples if hi[i] > lo[i] else 1) for i in range(3)]
        gx, gy, gz = (a.reshape(-1) for a in np.meshgrid(*axes, indexing="ij"))
        e, n, u = self.to_local(gx, gy, gz)
        pts = np.column_stack([e, n, u])
        if not np.isfinite(pts).all():
            return None
        low, high = pts.min(axis=0), pts.max(axis=0)
        margin = 1e-3 * float(np.max(high - low)) + 0.01
        return low - margin, high + margin

    def root_transform(self, center: tuple[float, float, float]) -> list[float]:
        """Column-major 4x4 matrix: tile coordinates (local frame minus ``center``) -> ECEF."""
        r = self.rotation
        m = np.eye(4)
        m[:3, :3] = r.T  # columns: east, north, up
        m[:3, 3] = np.asarray(self.origin) + r.T @ np.asarray(center, dtype=np.float64)
        return [float(v) for v in m.T.reshape(-1)]
