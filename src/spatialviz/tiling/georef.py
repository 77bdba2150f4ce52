"""Placing the tileset on the globe: the root ``transform`` from the tiles' frame to ECEF.

The plan already put every point, in metres, in the east-north-up frame of the source's CRS
(:class:`spatialviz.geodesy.LocalFrame`, built point by point with pyproj), so the root
transform is that frame's exact rotation and origin, shifted by the tiles' centre. A source
without a usable CRS label gets no transform: its tiles stay in its own units.
"""

from __future__ import annotations

from spatialviz.geodesy import LocalFrame


def enu_transform(
    frame: LocalFrame | None, center: tuple[float, float, float]
) -> list[float] | None:
    """Column-major 4x4 matrix taking tile coordinates (local frame minus ``center``) to
    ECEF, or None when the source is not georeferenced."""
    if frame is None:
        return None
    return frame.root_transform(center)
