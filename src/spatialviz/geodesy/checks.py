"""A CRS label held against the numbers it labels: facts, warnings and the local frame.

A label can be wrong in ways pyproj will not notice: projected numbers labelled geocentric
(the cloud lands ~1,400 km underground), metres labelled as feet or the other way (the
cloud lands outside the CRS's area of use), latitudes past 90 degrees (columns swapped).
The product still follows the label, but says so on the dataset; only a label that cannot
place the data at all (a latitude of 123 degrees) leaves the dataset unplaced.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np
from pyproj import CRS, Transformer
from pyproj.transformer import TransformerGroup

from spatialviz.geodesy.frame import (
    ECEF,
    Area,
    LocalFrame,
    area_of_interest,
    lonlat_area,
    to_ecef,
)
from spatialviz.geodesy.labels import SourceCrs

Bounds = tuple[tuple[float, float, float], tuple[float, float, float]]

AREA_MARGIN_DEG = 1.0
"""Areas of use are drawn generously but data near a zone's edge is common: only
coordinates more than this far outside count as implausible."""

GEOCENTRIC_TOLERANCE_M = 100_000.0
"""Geocentric points further than this from the ellipsoid (above or below) are not on
Earth's surface: the numbers are probably not geocentric."""


class GeoFacts(TypedDict, total=False):
    """What the CRS module found, as stored with the dataset and its tileset and sent by the
    API (``CrsOut``). Every key is optional: a label that could not be evaluated gives
    ``placed`` alone, and an unplaced dataset has no centre."""

    crs_name: str
    crs_type: str
    horizontal_unit: str | None
    vertical_unit: str | None
    vertical_crs: str | None
    placed: bool
    #: Longitude, latitude, ellipsoidal height of the data's centre.
    center_wgs84: list[float]
    frame_origin_ecef: list[float]
    #: The coordinate operation pyproj uses (its description).
    operation: str
    vertical_datum: str | None
    #: The grids of a better operation that are not installed (nothing is downloaded).
    missing_grids: list[str]
    #: A datum grid is missing: what that costs and the operation used instead.
    datum_shift: str


@dataclass
class Georeference:
    """What the CRS module made of a dataset's label and bounds."""

    frame: LocalFrame | None
    facts: GeoFacts = field(default_factory=lambda: GeoFacts())
    warnings: list[str] = field(default_factory=list)


def georeference(source: SourceCrs, bounds: Bounds) -> Georeference:
    """Check ``source`` against the data's ``bounds`` (in source units) and build the local
    frame at their centre."""
    crs = source.crs
    lo, hi = bounds
    center = tuple((a + b) / 2 for a, b in zip(lo, hi, strict=True))
    out = Georeference(frame=None)
    out.facts.update(
        {
            "crs_name": crs.name,
            "crs_type": crs.type_name,
            "horizontal_unit": source.horizontal_unit,
            "vertical_unit": source.z_unit,
            "vertical_crs": _vertical_name(crs),
        }
    )
    if crs.is_geographic and not _geographic_in_range(lo, hi):
        out.warnings.append(_swap_warning(lo, hi))
        out.facts["placed"] = False
        return out
    area = lonlat_area(source, lo, hi)
    out.frame = LocalFrame.at(source, center[0], center[1], center[2], area)
    if out.frame is None:
        out.warnings.append(
            f"The coordinates cannot be placed on Earth with the CRS {crs.name!r} "
            f"(their centre {_fmt(center)} has no position in it); the dataset is not placed."
        )
        out.facts["placed"] = False
        return out
    out.facts["placed"] = True
    lon, lat, h = Transformer.from_crs(ECEF, "EPSG:4979", always_xy=True).transform(
        *out.frame.origin
    )
    out.facts["center_wgs84"] = [round(float(lon), 7), round(float(lat), 7), round(float(h), 3)]
    out.facts["frame_origin_ecef"] = [round(float(v), 3) for v in out.frame.origin]
    if crs.is_geocentric:
        _check_geocentric(out, center)
    else:
        _check_area(out, source, lo, hi)
    _check_operation(out, source, area)
    if not source.has_vertical:
        out.facts["vertical_datum"] = (
            f"none given: z is used as an ellipsoidal height in {source.z_unit}"
        )
    return out


def _vertical_name(crs: CRS) -> str | None:
    if crs.is_compound:
        found = [c.name for c in crs.sub_crs_list if c.is_vertical]
        return found[0] if found else None
    return None


def _fmt(point: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in point) + ")"


def _geographic_in_range(lo: tuple[float, ...], hi: tuple[float, ...]) -> bool:
    # always_xy: x is longitude, y latitude. Longitudes in 0..360 are a common convention.
    return lo[0] >= -180.0 and hi[0] <= 360.0 and lo[1] >= -90.0 and hi[1] <= 90.0


def _swap_warning(lo: tuple[float, ...], hi: tuple[float, ...]) -> str:
    lat_bad = lo[1] < -90.0 or hi[1] > 90.0
    lon_fits_lat = lo[0] >= -90.0 and hi[0] <= 90.0
    if lat_bad and lon_fits_lat:
        return (
            f"Latitudes (y) run from {lo[1]:.6g} to {hi[1]:.6g}, past ±90, while longitudes (x) "
            f"stay within ±90: the longitude and latitude columns look swapped. The dataset is "
            f"not placed on Earth; name the columns explicitly to fix it."
        )
    return (
        f"The CRS is geographic (degrees) but x runs {lo[0]:.6g}..{hi[0]:.6g} and y "
        f"{lo[1]:.6g}..{hi[1]:.6g}, outside longitude/latitude ranges: the label does not "
        f"fit the numbers. The dataset is not placed on Earth."
    )


def _check_geocentric(out: Georeference, center: tuple[float, ...]) -> None:
    assert out.frame is not None
    h = out.facts["center_wgs84"][2]
    if abs(h) > GEOCENTRIC_TOLERANCE_M:
        where = "below" if h < 0 else "above"
        out.warnings.append(
            f"The CRS is geocentric (ECEF) but the data's centre {_fmt(center)} lies "
            f"{abs(h) / 1000:,.0f} km {where} the ellipsoid: these look like projected or "
            f"local coordinates with a wrong label. Placed as labelled."
        )


def _area_of_use(crs: CRS) -> Any:
    """The CRS's area of use, or that of the registered CRS it matches (a WKT copy of an
    EPSG CRS has no area of its own)."""
    horizontal = crs.sub_crs_list[0] if crs.is_compound else crs
    if horizontal.area_of_use is not None:
        return horizontal.area_of_use
    for match in horizontal.list_authority(min_confidence=70)[:1]:
        return CRS.from_authority(match.auth_name, match.code).area_of_use
    return None


def _check_area(out: Georeference, source: SourceCrs, lo: Any, hi: Any) -> None:
    area = _area_of_use(source.crs)
    if area is None:
        return
    xs = np.array([lo[0], hi[0], lo[0], hi[0], (lo[0] + hi[0]) / 2])
    ys = np.array([lo[1], lo[1], hi[1], hi[1], (lo[1] + hi[1]) / 2])
    ex, ey, ez = to_ecef(source, xs, ys, np.zeros_like(xs), out.frame.area if out.frame else None)
    lon, lat, _h = Transformer.from_crs(ECEF, "EPSG:4979", always_xy=True).transform(ex, ey, ez)
    lon, lat = np.asarray(lon), np.asarray(lat)
    m = AREA_MARGIN_DEG
    inside = (
        (lon >= area.west - m) & (lon <= area.east + m) & (lat >= area.south - m)
        & (lat <= area.north + m)
    )  # fmt: skip
    if area.west > area.east:  # the area crosses the antimeridian
        inside = (
            ((lon >= area.west - m) | (lon <= area.east + m))
            & (lat >= area.south - m) & (lat <= area.north + m)
        )  # fmt: skip
    if not inside.all():
        out.warnings.append(
            f"The data's centre falls at longitude {lon[-1]:.4f}, latitude {lat[-1]:.4f}, "
            f"outside the area of use of {source.crs.name!r} ({area.name}): the CRS label or "
            f"its unit ({source.horizontal_unit}) is probably wrong. Placed as labelled."
        )


def _check_operation(out: Georeference, source: SourceCrs, area: Area | None) -> None:
    """Say when pyproj could not use its best operation (a grid, e.g. a geoid model, is not
    installed: nothing is downloaded here) and what that costs."""
    crs = source.crs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        group = TransformerGroup(
            source.crs_3d, ECEF, always_xy=True, area_of_interest=area_of_interest(area)
        )
    # pyproj picks among these at run time by area; the first one covers the data here.
    used = group.transformers[0].description if group.transformers else "none"
    out.facts["operation"] = used
    ballpark_vertical = "ballpark vertical" in used
    if ballpark_vertical:
        out.facts["vertical_datum"] = "not honoured (ballpark: heights used as ellipsoidal)"
    else:
        out.facts["vertical_datum"] = "honoured" if source.has_vertical else None
    if group.best_available:
        return
    missing = sorted(
        {g.short_name for op in group.unavailable_operations for g in op.grids if not g.available}
    )
    shown = ", ".join(missing[:4]) + (" …" if len(missing) > 4 else "")
    out.facts["missing_grids"] = missing
    if ballpark_vertical:
        out.warnings.append(
            f"Heights in {_vertical_name(crs) or 'the vertical CRS'} are gravity-related; the "
            f"geoid model that turns them into ellipsoidal heights is not installed here "
            f"({shown}), so they are used as ellipsoidal heights: the cloud may sit tens of "
            f"metres too high or too low (the local geoid undulation)."
        )
    else:
        # A datum grid (e.g. NAD83 -> NAD83(HARN)) costs about a metre of absolute accuracy,
        # not plausibility: a fact, not a warning.
        out.facts["datum_shift"] = (
            f"pyproj's most accurate transformation needs grids not installed here "
            f"({shown}); used instead: {used}"
        )
