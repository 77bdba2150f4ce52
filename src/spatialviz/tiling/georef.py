"""Placing the tileset on the globe: the root ``transform`` from the local frame to ECEF."""

from __future__ import annotations

import numpy as np
from pyproj import CRS, Transformer


def enu_transform(crs_text: str, center: tuple[float, float, float]) -> list[float] | None:
    """Column-major 4x4 matrix taking local offsets from ``center`` (in CRS units) to ECEF.

    The axes are the CRS's own x/y/z directions measured on the ellipsoid at the centre
    (pyproj moves the centre and a point one unit east and north of it), orthonormalised:
    that is the east-north-up frame corrected for grid convergence. Geographic CRSs
    (degrees) cannot be used as a metric local frame, so they get no transform.
    """
    crs = CRS.from_user_input(crs_text)
    if crs.is_geographic:
        return None
    to_ecef = Transformer.from_crs(
        crs.to_3d() if not crs.is_geocentric else crs, "EPSG:4978", always_xy=True
    )
    cx, cy, cz = center
    pts = np.array([[cx, cy, cz], [cx + 1.0, cy, cz], [cx, cy + 1.0, cz]])
    ex, ey, ez = to_ecef.transform(pts[:, 0], pts[:, 1], pts[:, 2])
    ecef = np.column_stack([ex, ey, ez])
    if not np.isfinite(ecef).all():
        return None
    origin = ecef[0]
    east = ecef[1] - origin
    east /= np.linalg.norm(east)
    north = ecef[2] - origin
    north -= east * float(north @ east)
    north /= np.linalg.norm(north)
    up = np.cross(east, north)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = east, north, up, origin
    return [float(v) for v in m.T.reshape(-1)]
