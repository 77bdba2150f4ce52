from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from spatialviz.formats import FormatError, ReaderLimits, open_reader


def _read(path: Path) -> pa.Table:
    reader = open_reader(path, ReaderLimits(batch_rows=4))
    try:
        return pa.Table.from_batches(list(reader.iter_batches()))
    finally:
        reader.close()


def test_points_lines_polygons_with_properties(tmp_path: Path) -> None:
    fc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2, 3]},
             "properties": {"name": "a", "height": 10}},
            {"type": "Feature",
             "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1], [2, 2]]},
             "properties": {"name": "b", "height": 20}},
            {"type": "Feature", "geometry": None, "properties": {"name": "empty"}},
            {"type": "Feature",
             "geometry": {"type": "Polygon",
                          "coordinates": [[[0, 0], [4, 0], [4, 4], [0, 0]]]},
             "properties": {"name": "c", "nested": {"k": 1}}},
        ],
    }  # fmt: skip
    (tmp_path / "f.geojson").write_text(json.dumps(fc))
    reader = open_reader(tmp_path / "f.geojson", ReaderLimits(batch_rows=100))
    table = pa.Table.from_batches(list(reader.iter_batches()))
    assert table["nested"].to_pylist()[-1] == '{"k": 1}'
    assert table.num_rows == 1 + 3 + 4
    assert table["z"].to_pylist()[:2] == [3.0, 0.0]
    assert table["name"].to_pylist() == ["a", "b", "b", "b", "c", "c", "c", "c"]
    assert table["feature_index"].to_pylist() == [0, 1, 1, 1, 3, 3, 3, 3]
    assert table["row_id"].to_pylist() == list(range(8))
    assert reader.info.crs_epsg == 4326
    assert reader.info.dropped == {"feature_without_coordinates": 1}


def test_single_feature_and_bare_geometry(tmp_path: Path) -> None:
    (tmp_path / "f.geojson").write_text(
        json.dumps({"type": "Feature", "properties": {"a": 1},
                    "geometry": {"type": "MultiPoint", "coordinates": [[1, 2], [3, 4]]}})
    )  # fmt: skip
    assert _read(tmp_path / "f.geojson").num_rows == 2
    (tmp_path / "g.geojson").write_text(json.dumps({"type": "Point", "coordinates": [5, 6]}))
    assert _read(tmp_path / "g.geojson")["x"].to_pylist() == [5.0]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"type": "FeatureCollection", "features": [{"type": "Feature", ', "invalid_json"),
        ('{"type": "FeatureCollection", "features": [}', "invalid_json"),
        ('{"hello": "world"}', "invalid_geojson"),
        ('{"type": "FeatureCollection", "features": []}', "no_valid_rows"),
    ],
)
def test_broken_geojson(tmp_path: Path, text: str, code: str) -> None:
    (tmp_path / "b.geojson").write_text(text)
    with pytest.raises(FormatError) as info:
        _read(tmp_path / "b.geojson")
    assert info.value.code == code
