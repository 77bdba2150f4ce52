"""GeoJSON, streamed with ijson so a huge FeatureCollection never loads whole.

Every vertex becomes a point: Point/MultiPoint positions, the vertices of (Multi)LineString
and (Multi)Polygon rings, recursively through GeometryCollections; each carries its
feature's properties plus ``feature_index`` (the feature's position in the collection) and
``row_id`` (the vertex's position in the file's vertex sequence). A missing third
coordinate is z = 0. CRS is longitude/latitude on WGS 84 (RFC 7946), unless the file has the
legacy (GeoJSON 2008) ``crs`` member before its features, which is honoured. A top-level
Feature or bare geometry is accepted too. Property values that are objects or arrays are
kept as JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import ijson
import numpy as np
import pyarrow as pa

from spatialviz.formats.base import FormatError, ReaderLimits, SourceInfo
from spatialviz.formats.common import BadRowGuard, assemble, canonical_names
from spatialviz.formats.errors import InvalidGeoJsonError, InvalidJsonError, TooManyPointsError
from spatialviz.formats.json_guard import GuardedJsonFile, JsonDepthScanner
from spatialviz.geodesy.labels import geojson_labels

#: A FeatureCollection's features are at depth 3 (collection, ``features`` array, feature);
#: anything that stays this deep for more than ``max_record_bytes`` is one feature (or one
#: part of a top-level Feature) too large to build in memory.
_FEATURE_DEPTH = 3

_GEOMETRY_TYPES = {
    "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
    "GeometryCollection",
}  # fmt: skip


class GeoJsonReader:
    def __init__(self, path: Path, limits: ReaderLimits) -> None:
        self.path = path
        self.limits = limits
        self.info = SourceInfo(format="geojson", crs_epsg=4326)
        self.info.units.update(x="degree", y="degree", z="metre")
        self.info.source_columns.update(x="longitude", y="latitude", z="altitude")
        self._names: dict[str, str] = {}
        self._read_crs_member()

    def _read_crs_member(self) -> None:
        try:
            with self.path.open("rb") as raw:
                # Guarded like the main pass: ijson's event prefixes grow with depth, so an
                # unguarded look for ``crs`` in a nesting bomb costs gigabytes.
                member = _crs_member(GuardedJsonFile(raw, self._new_scanner))
        except (ijson.JSONError, OSError, FormatError):
            return  # the main pass says what is wrong with the file
        if member is None:
            return
        crs, problem = geojson_labels(member)
        if crs is None:
            self.info.notes.append(f"{problem}: coordinates read as longitude/latitude")
            return
        info = self.info
        info.crs_wkt, info.crs_epsg = crs.to_wkt(), crs.to_epsg()
        unit = crs.axis_info[0].unit_name if crs.axis_info else "unknown"
        info.units.update(x=unit, y=unit, z="metre" if crs.is_geographic else unit)
        if not crs.is_geographic:
            info.source_columns.update(x="x", y="y", z="z")
        info.notes.append(f"CRS from the crs member: {crs.name}")

    def _new_scanner(self) -> JsonDepthScanner:
        return JsonDepthScanner(
            max_depth=self.limits.max_json_depth,
            record_depth=_FEATURE_DEPTH,
            max_record_bytes=self.limits.max_record_bytes,
        )

    def _features(self, fh: BinaryIO | GuardedJsonFile) -> Iterator[Any]:
        count = 0
        for feature in ijson.items(fh, "features.item", use_float=True):
            count += 1
            yield feature
        if count:
            return
        fh.seek(0)
        top_type = next((v for p, e, v in ijson.parse(fh) if p == "type" and e == "string"), None)
        fh.seek(0)
        if top_type == "FeatureCollection":
            return
        if top_type == "Feature":
            yield from ijson.items(fh, "", use_float=True)
        elif top_type in _GEOMETRY_TYPES:
            for geometry in ijson.items(fh, "", use_float=True):
                yield {"type": "Feature", "geometry": geometry, "properties": {}}
        elif top_type is None:
            raise InvalidGeoJsonError(
                "The JSON has no 'type' and no 'features', so it is not GeoJSON."
            )
        else:
            raise InvalidGeoJsonError(f"GeoJSON of type {top_type!r} holds no features.")

    def iter_batches(self) -> Iterator[pa.RecordBatch]:
        guard = BadRowGuard(self.info, self.limits)
        coords: list[list[float]] = []
        props: list[dict[str, Any]] = []
        feature_ids: list[int] = []
        vertex = 0
        try:
            with self.path.open("rb") as raw:
                # ijson and the builder pay for depth and size far beyond the bytes: the
                # guard refuses a nesting bomb or an oversized feature as it is read.
                fh = GuardedJsonFile(raw, self._new_scanner)
                for fi, feature in enumerate(self._features(fh)):
                    if not isinstance(feature, dict):
                        raise InvalidGeoJsonError(f"Feature {fi} is not a JSON object.")
                    start = len(coords)
                    _vertices(feature.get("geometry"), coords)
                    added = len(coords) - start
                    if not added:
                        guard.drop("feature_without_coordinates", 1)
                        continue
                    properties = feature.get("properties") or {}
                    if not isinstance(properties, dict):
                        properties = {}
                    props.extend([properties] * added)
                    feature_ids.extend([fi] * added)
                    if vertex + len(coords) > self.limits.max_points:
                        raise TooManyPointsError(
                            f"The file has more than {self.limits.max_points} vertices."
                        )
                    if len(coords) >= self.limits.batch_rows:
                        yield from self._flush(coords, props, feature_ids, vertex, guard)
                        vertex += len(coords)
                        coords, props, feature_ids = [], [], []
                if coords:
                    yield from self._flush(coords, props, feature_ids, vertex, guard)
        except ijson.JSONError as exc:
            raise InvalidJsonError(f"The file is not valid JSON ({exc}).") from exc
        guard.seen += guard.info.dropped.get("feature_without_coordinates", 0)
        guard.check(final=True)

    def _flush(
        self,
        coords: list[list[float]],
        props: list[dict[str, Any]],
        feature_ids: list[int],
        start: int,
        guard: BadRowGuard,
    ) -> Iterator[pa.RecordBatch]:
        xyz = np.array([[*c, 0.0, 0.0, 0.0][:3] for c in coords], dtype=np.float64)
        attrs: dict[str, Any] = {"feature_index": np.asarray(feature_ids, dtype=np.int64)}
        keys: dict[str, None] = dict.fromkeys(self._names)  # keep earlier columns stable
        for p in props:
            keys.update(dict.fromkeys(p))
        for key in keys:
            if key not in self._names:
                name = canonical_names([key, *self._names.values()])[key]
                if name == "feature_index":
                    name = "feature_index_2"
                self._names[key] = name
                self.info.source_columns[name] = key
            attrs[self._names[key]] = _column([p.get(key) for p in props])
        row_id = np.arange(start, start + len(coords), dtype=np.int64)
        batch = assemble(xyz[:, 0], xyz[:, 1], xyz[:, 2], attrs, row_id, guard)
        if batch is not None:
            yield batch

    def close(self) -> None:
        pass


def _crs_member(fh: BinaryIO | GuardedJsonFile) -> Any:
    """The top-level ``crs`` member, if it comes before ``features`` (read no further)."""
    builder: Any = None
    for prefix, event, value in ijson.parse(fh, use_float=True):
        if builder is not None:
            builder.event(event, value)
            if prefix == "crs" and event in ("end_map", "end_array"):
                return builder.value
        elif prefix == "crs" and event in ("start_map", "start_array", "string", "number"):
            builder = ijson.ObjectBuilder()
            builder.event(event, value)
            if event in ("string", "number"):
                return builder.value
        elif prefix == "features" and event == "start_array":
            return None
    return None


def _vertices(geometry: Any, out: list[list[float]]) -> None:
    if not isinstance(geometry, dict):
        return
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        for g in geometry.get("geometries") or []:
            _vertices(g, out)
        return
    coords = geometry.get("coordinates")
    depth = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2,
             "Polygon": 2, "MultiPolygon": 3}.get(kind or "")  # fmt: skip
    if depth is None or coords is None:
        return
    _collect(coords, depth, out)


def _collect(coords: Any, depth: int, out: list[list[float]]) -> None:
    if depth == 0:
        if isinstance(coords, list) and len(coords) >= 2:
            out.append([_num(v) for v in coords[:3]])
        return
    if isinstance(coords, list):
        for c in coords:
            _collect(c, depth - 1, out)


def _num(v: Any) -> float:
    if isinstance(v, int | float | Decimal) and not isinstance(v, bool):
        return float(v)
    return float("nan")


def _column(values: list[Any]) -> pa.Array:
    if any(isinstance(v, dict | list) for v in values):
        values = [json.dumps(v) if isinstance(v, dict | list) else v for v in values]
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(
            [None if v is None else v if isinstance(v, str) else json.dumps(v) for v in values],
            type=pa.string(),
        )
