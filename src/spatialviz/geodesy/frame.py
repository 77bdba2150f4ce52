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
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pyproj import Transformer

from spatialviz.geodesy.labels import SourceCrs

ECEF = "EPSG:4978"
F64 = npt.NDArray[np.float64]

_lock = threading.Lock()
_transformers: dict[str, Transformer] = {}


def to_ecef_transformer(source: SourceCrs) -> Transformer:
    """pyproj's transformer from ``source`` (3D: z's unit and datum included) to ECEF, made
    once per CRS (pyproj transformers are thread-safe; building one costs milliseconds)."""
    with _lock:
        found = _transformers.get(source.wkt)
        if found is None:
            crs = source.crs
            with warnings.catch_warnings():
                # "Best transformation is not available (missing grid)": the checks say so
                # on the dataset, with what it means for the placement.
                warnings.simplefilter("ignore", UserWarning)
                found = Transformer.from_crs(
                    crs if source.has_vertical else crs.to_3d(), ECEF, always_xy=True
                )
            _transformers[source.wkt] = found
        return found


def to_ecef(source: SourceCrs, x: F64, y: F64, z: F64) -> tuple[F64, F64, F64]:
    """Source coordinates -> ECEF metres (non-finite where pyproj cannot place a point)."""
    heights = z if source.has_vertical else z * source.z_to_metre
    ex, ey, ez = to_ecef_transformer(source).transform(x, y, heights, errcheck=False)
    return (
        np.asarray(ex, dtype=np.float64),
        np.asarray(ey, dtype=np.float64),
        np.asarray(ez, dtype=np.float64),
    )


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


@dataclass(frozen=True)
class LocalFrame:
    """East-north-up metres at ``origin`` (ECEF), fed by pyproj from ``source``."""

    source: SourceCrs
    origin: tuple[float, float, float]
    #: rows east, north, up (ECEF unit vectors), flattened
    axes: tuple[float, ...]

    @classmethod
    def at(cls, source: SourceCrs, x: float, y: float, z: float) -> LocalFrame | None:
        """The frame at a source position, or None where pyproj cannot place it."""
        ecef = to_ecef(source, np.array([x]), np.array([y]), np.array([z]))
        origin = np.array([float(c[0]) for c in ecef])
        if not np.isfinite(origin).all():
            return None
        lon, lat, _h = Transformer.from_crs(ECEF, "EPSG:4979", always_xy=True).transform(*origin)
        if not (np.isfinite(lon) and np.isfinite(lat)):  # the Earth's centre
            return None
        axes = enu_axes(float(lon), float(lat))
        return cls(source, (origin[0], origin[1], origin[2]), tuple(axes.reshape(-1).tolist()))

    @property
    def rotation(self) -> F64:
        return np.asarray(self.axes, dtype=np.float64).reshape(3, 3)

    def to_local(self, x: F64, y: F64, z: F64) -> tuple[F64, F64, F64]:
        """Source coordinates -> local east, north, up metres (vectorised)."""
        ex, ey, ez = to_ecef(self.source, x, y, z)
        ex -= self.origin[0]
        ey -= self.origin[1]
        ez -= self.origin[2]
        r = self.rotation
        east = r[0, 0] * ex + r[0, 1] * ey  # east has no ECEF z component
        north = r[1, 0] * ex + r[1, 1] * ey + r[1, 2] * ez
        up = r[2, 0] * ex + r[2, 1] * ey + r[2, 2] * ez
        return east, north, up

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
