"""A file's CRS labels -> one description of what its x, y and z are.

Files say where they are in many ways: a WKT string (LAS WKT VLR, COPC), GeoTIFF keys (LAS
1.0-1.3) whose unit keys may override the EPSG code's own unit, a compound CRS with its own
vertical unit, the legacy ``crs`` member of GeoJSON (2008), or nothing but column names
(longitude/latitude). Whatever the source, the result is a :class:`SourceCrs`: a CRS pyproj
can transform from, plus the unit of z when that CRS has no vertical axis.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyproj import CRS
from pyproj.crs import CompoundCRS
from pyproj.database import get_units_map
from pyproj.exceptions import CRSError

log = logging.getLogger(__name__)

# GeoTIFF keys (OGC 19-008r4) the LAS GeoTIFF VLRs may carry besides the CRS codes.
PROJECTED_CRS_KEY = 3072
PROJ_LINEAR_UNITS_KEY = 3076
VERTICAL_CRS_KEY = 4096
VERTICAL_UNITS_KEY = 4099
_EPSG_CODES = range(1024, 32767)  # 32767 is "user-defined", 0 "undefined"


@functools.cache
def _linear_units() -> dict[str, tuple[str, float]]:
    """EPSG linear units: code -> (name, metres per unit), and name -> the same."""
    out: dict[str, tuple[str, float]] = {}
    for name, unit in get_units_map(auth_name="EPSG", category="linear").items():
        out[str(unit.code)] = out[name] = (name, float(unit.conv_factor))
    return out


def unit_to_metre(name: str | None) -> float | None:
    """Metres per unit for an EPSG linear unit name ("foot", "US survey foot", ...)."""
    if name is None:
        return None
    found = _linear_units().get(name)
    return found[1] if found else None


def unit_by_code(code: int) -> tuple[str, float] | None:
    return _linear_units().get(str(code))


@functools.cache
def parse_crs(text: str) -> CRS:
    """A CRS from WKT, PROJJSON or an authority string (cached: labels repeat)."""
    return CRS.from_user_input(text)


@dataclass(frozen=True)
class SourceCrs:
    """What a dataset's x, y, z are.

    ``wkt`` is the CRS of x and y (and of z when it has a vertical axis: compound, 3D or
    geocentric, so pyproj converts z's unit and datum itself). A 2D CRS says nothing about
    z: then z is taken as an ellipsoidal height in ``z_unit`` (``z_to_metre`` metres each).
    """

    wkt: str
    z_unit: str = "metre"
    z_to_metre: float = 1.0

    @property
    def crs(self) -> CRS:
        return parse_crs(self.wkt)

    @property
    def has_vertical(self) -> bool:
        crs = self.crs
        return bool(crs.is_geocentric or len(crs.axis_info) >= 3)

    @property
    def crs_3d(self) -> CRS:
        """The CRS pyproj transforms from: with a vertical axis (ellipsoidal height in
        metres added to a 2D CRS, z being scaled to metres first)."""
        return self.crs if self.has_vertical else self.crs.to_3d()

    @property
    def horizontal_unit(self) -> str:
        axes = self.crs.axis_info
        return axes[0].unit_name if axes else "unknown"

    def to_json(self) -> dict[str, Any]:
        return {"wkt": self.wkt, "z_unit": self.z_unit, "z_to_metre": self.z_to_metre}


def source_crs(
    crs_wkt: str | None, crs_epsg: int | None, units: Mapping[str, str] | None = None
) -> SourceCrs | None:
    """The :class:`SourceCrs` of a reader's labels (``SourceInfo.crs_wkt``/``crs_epsg`` and
    the unit it recorded for z), or None when there is no usable label."""
    text = crs_wkt or (f"EPSG:{crs_epsg}" if crs_epsg else None)
    if text is None:
        return None
    try:
        crs = parse_crs(text)
    except CRSError:
        return None
    wkt = crs_wkt if crs_wkt else crs.to_wkt()
    probe = SourceCrs(wkt)
    if probe.has_vertical:
        axes = crs.axis_info
        z_unit = axes[2].unit_name if len(axes) >= 3 else "metre"
        return SourceCrs(wkt, z_unit, 1.0)  # pyproj applies the vertical axis' unit
    default = probe.horizontal_unit if crs.is_projected else "metre"
    z_unit = (units or {}).get("z") or default
    factor = unit_to_metre(z_unit)
    if factor is None:
        z_unit, factor = "metre", 1.0
    return SourceCrs(wkt, z_unit, factor)


def with_linear_unit(crs: CRS, unit_name: str) -> CRS:
    """``crs`` with its axes in another linear unit, the projection unchanged (its false
    easting/northing keep their own units): what a GeoTIFF ``ProjLinearUnitsGeoKey`` that
    differs from the EPSG code's unit means (GDAL reads it the same way)."""
    found = _linear_units()[unit_name]
    doc = crs.to_json_dict()
    unit = {"type": "LinearUnit", "name": found[0], "conversion_factor": found[1]}
    code = next((k for k, v in _linear_units().items() if v == found and k.isdigit()), None)
    if code is not None:
        unit["id"] = {"authority": "EPSG", "code": int(code)}
    for axis in doc["coordinate_system"]["axis"]:
        axis["unit"] = unit
    doc.pop("id", None)  # no longer the registered CRS
    doc["name"] = f"{doc.get('name', 'unnamed')} (axes in {found[0]})"
    return CRS.from_json_dict(doc)


@dataclass
class LabelReading:
    """What a file's CRS labels say, for its :class:`~spatialviz.formats.base.SourceInfo`."""

    crs: CRS | None = None
    #: canonical column -> unit name, for x, y, z
    units: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def las_labels(vlrs: Iterable[Any]) -> LabelReading:
    """Read the CRS of a LAS file from its VLRs/EVLRs (laspy objects).

    A WKT record wins (the LAS 1.4 rule); otherwise the GeoTIFF keys: the EPSG projected or
    geographic CRS, its linear unit overridden by ``ProjLinearUnitsGeoKey`` when that
    differs, a vertical CRS from ``VerticalCSTypeGeoKey`` and z's unit from
    ``VerticalUnitsGeoKey``. Without a vertical unit, z is in the horizontal unit of a
    projected CRS (the LAS convention) and in metres for a geographic one.
    """
    out = LabelReading()
    wkt_texts = [v.string for v in vlrs if hasattr(v, "string") and getattr(v, "string", None)]
    key_sets = [v.geo_keys for v in vlrs if hasattr(v, "geo_keys")]
    keys: dict[int, int] = {}
    for geo_keys in key_sets:
        for key in geo_keys:
            if key.id and not key.tiff_tag_location:  # a SHORT value held in the key itself
                keys.setdefault(int(key.id), int(key.value_offset))
    z_unit: str | None = None
    for text in wkt_texts:
        try:
            out.crs = parse_crs(text.strip("\0 "))
            out.notes.append("CRS from the WKT record")
            break
        except CRSError as exc:
            out.notes.append(f"the WKT record could not be parsed ({exc})")
    if out.crs is None and keys:
        out.crs, z_unit = _from_geokeys(keys, out.notes)
    if out.crs is None:
        return out
    axes = out.crs.axis_info
    horizontal = axes[0].unit_name if axes else "metre"
    out.units["x"] = out.units["y"] = horizontal
    if len(axes) >= 3 or out.crs.is_geocentric:
        out.units["z"] = axes[2].unit_name if len(axes) >= 3 else "metre"
    elif z_unit is not None:
        out.units["z"] = z_unit
    elif out.crs.is_projected:
        out.units["z"] = horizontal
        out.notes.append(f"no vertical CRS: z taken in the horizontal unit ({horizontal})")
    else:
        out.units["z"] = "metre"
        out.notes.append("no vertical CRS: z taken in metres")
    return out


def _from_geokeys(keys: Mapping[int, int], notes: list[str]) -> tuple[CRS | None, str | None]:
    code = keys.get(PROJECTED_CRS_KEY, 0)
    geographic = keys.get(2048, 0)
    crs: CRS | None = None
    try:
        if code in _EPSG_CODES:
            crs = CRS.from_epsg(code)
        elif geographic in _EPSG_CODES:
            crs = CRS.from_epsg(geographic)
    except CRSError as exc:
        notes.append(f"the GeoTIFF CRS code is unknown ({exc})")
        return None, None
    if crs is None:
        notes.append("the GeoTIFF keys define no EPSG CRS (user-defined ones are not read)")
        return None, None
    notes.append(f"CRS from GeoTIFF keys (EPSG:{code if crs.is_projected else geographic})")
    unit_code = keys.get(PROJ_LINEAR_UNITS_KEY)
    if crs.is_projected and unit_code is not None:
        unit = unit_by_code(unit_code)
        if unit is not None and unit[0] != crs.axis_info[0].unit_name:
            crs = with_linear_unit(crs, unit[0])
            notes.append(f"ProjLinearUnitsGeoKey: x and y in {unit[0]}")
    z_unit: str | None = None
    vertical_units = keys.get(VERTICAL_UNITS_KEY)
    if vertical_units is not None and (unit := unit_by_code(vertical_units)) is not None:
        z_unit = unit[0]
    vertical = keys.get(VERTICAL_CRS_KEY, 0)
    if vertical in _EPSG_CODES:
        try:
            vcrs = CRS.from_epsg(vertical)
        except CRSError:
            vcrs = None
        if vcrs is not None and vcrs.is_vertical:
            if z_unit is not None and z_unit != vcrs.axis_info[0].unit_name:
                vcrs = with_linear_unit(vcrs, z_unit)
            crs = CompoundCRS(f"{crs.name} + {vcrs.name}", [crs, vcrs])
            notes.append(f"vertical CRS from GeoTIFF keys: {vcrs.name}")
    return crs, z_unit


def geojson_labels(member: Any) -> tuple[CRS | None, str | None]:
    """The CRS named by a GeoJSON 2008 ``crs`` member, or (None, why it was not used).

    ``{"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}}`` and the older
    ``{"type": "EPSG", "properties": {"code": 2154}}`` are read; a ``link`` is not fetched.
    """
    if not isinstance(member, dict):
        return None, "the crs member is not an object"
    props = member.get("properties")
    props = props if isinstance(props, dict) else {}
    kind = member.get("type")
    if kind == "name" and isinstance(props.get("name"), str):
        text = props["name"]
    elif kind == "EPSG" and isinstance(props.get("code"), int | str):
        text = f"EPSG:{props['code']}"
    else:
        return None, f"a crs member of type {kind!r} is not read"
    try:
        return parse_crs(text), None
    except CRSError:
        return None, f"the crs member names an unknown CRS ({text[:80]})"
