"""What a tile carries: two vertex attributes whatever the input, and every other value
once, exactly, in its own type, in a property table that follows the 3D Metadata rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pytest

from spatialviz.tiling import TilingOptions, tile
from spatialviz.tiling.glb import PointContent, decode_points, encode_glb, read_glb
from spatialviz.tiling.metadata import CODED_ROWS_MULTIPLE
from spatialviz.tiling.nodes import stored_values
from tests.tiling.helpers import decode, walk
from tests.tiling.sources import make_cloud, many_values_content, parquet_source

COMPRESSIONS = ["none", "meshopt", "draco"]
SIZES = {"INT8": 1, "UINT8": 1, "INT16": 2, "UINT16": 2, "INT32": 4, "UINT32": 4}
SIZES |= {"INT64": 8, "UINT64": 8, "FLOAT32": 4, "FLOAT64": 8}


def check_property_table(doc: dict[str, Any]) -> None:
    """The 3D Metadata binary rules the glTF-Validator does not check: every values view
    exactly ``count`` values long (booleans: ceil(count/8) bytes) and aligned to its
    component size, and the feature ids inside the table."""
    meta = doc["extensions"]["EXT_structural_metadata"]
    table = meta["propertyTables"][0]
    classes = meta["schema"]["classes"][table["class"]]["properties"]
    for name, prop in table["properties"].items():
        view = doc["bufferViews"][prop["values"]]
        kind = classes[name]
        if kind["type"] == "BOOLEAN":
            expected, size = -(-table["count"] // 8), 1
        else:
            size = SIZES[kind["componentType"]]
            expected = table["count"] * size
        assert view["byteLength"] == expected, name
        assert view.get("byteOffset", 0) % size == 0, name
        coded = view.get("extensions", {}).get("EXT_meshopt_compression")
        if coded is not None:  # the codec's own rule: whole elements, 4-byte multiples
            assert coded["byteStride"] * coded["count"] == view["byteLength"], name
            assert coded["byteStride"] % 4 == 0, name
    if "meshes" not in doc:  # a sidecar: its rows are the tile's points, tied to no mesh
        assert doc["extras"]["spatialviz"]["points"] <= table["count"]
        return
    features = doc["meshes"][0]["primitives"][0]["extensions"]["EXT_mesh_features"]
    assert features["featureIds"][0]["featureCount"] <= table["count"]


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_only_position_and_colour_are_vertex_attributes(compression: str) -> None:
    content = many_values_content(3_001)
    data = encode_glb(content, compression=compression)  # type: ignore[arg-type]
    doc, _ = read_glb(data)
    (primitive,) = doc["meshes"][0]["primitives"]
    assert set(primitive["attributes"]) == {"POSITION", "COLOR_0"}
    # Every value is in the table once, in its own type.
    classes = doc["extensions"]["EXT_structural_metadata"]["schema"]["classes"]["point"]
    kinds = {name: c.get("componentType", c["type"]) for name, c in classes["properties"].items()}
    assert kinds["intensity"] == "UINT16"
    assert kinds["scan_angle"] == "INT16"
    assert kinds["extra_0"] == "UINT8"
    assert kinds["withheld"] == "BOOLEAN"
    assert kinds["gps_time"] == "FLOAT64"
    assert kinds["row_id"] == "INT64"
    assert len(kinds) == len(content.properties)
    check_property_table(doc)


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_values_round_trip_exactly(compression: str) -> None:
    content = many_values_content(3_001, seed=2)
    got = decode_points(encode_glb(content, compression=compression))  # type: ignore[arg-type]
    order = np.argsort(got.properties["row_id"])
    for name, values in content.properties.items():
        assert got.properties[name].dtype == values.dtype, name
        assert np.array_equal(got.properties[name][order], values), name
    # The microsecond survives (float32 would step by 32 s here).
    gps = got.properties["gps_time"][order]
    assert np.array_equal(np.diff(gps), np.diff(content.properties["gps_time"]))


def test_flags_take_one_bit_and_meshopt_tables_pad_whole_rows() -> None:
    n = 1_000
    flags = np.zeros(n, dtype=np.bool_)
    flags[::3] = True
    content = PointContent(np.random.default_rng(1).uniform(0, 9, (n, 3)), None, {"f": flags})
    plain, _ = read_glb(encode_glb(content))
    table = plain["extensions"]["EXT_structural_metadata"]["propertyTables"][0]
    assert table["count"] == n
    assert plain["bufferViews"][table["properties"]["f"]["values"]]["byteLength"] == 125
    coded, _ = read_glb(encode_glb(content, compression="meshopt"))
    table = coded["extensions"]["EXT_structural_metadata"]["propertyTables"][0]
    assert table["count"] == 1_024 == -(-n // CODED_ROWS_MULTIPLE) * CODED_ROWS_MULTIPLE
    check_property_table(coded)


def test_stored_values_pack_flags_and_narrow_row_ids() -> None:
    flags = frozenset({"withheld"})
    assert stored_values("withheld", np.array([0, 1, 1], np.uint8), flags).dtype == np.bool_
    # A column named like a flag that holds more than 0/1 keeps its integers.
    odd = stored_values("withheld", np.array([0, 2], np.uint8), flags)
    assert odd.dtype == np.uint8
    assert odd.tolist() == [0, 2]
    ids = np.array([0, (1 << 24) + 1, (1 << 32) - 1], np.int64)
    narrow = stored_values("row_id", ids, flags)
    assert narrow.dtype == np.uint32
    assert narrow.tolist() == ids.tolist()
    wide = np.array([1 << 32], np.int64)
    assert stored_values("row_id", wide, flags).dtype == np.int64


def test_las_flags_become_booleans_in_a_tileset(tmp_path: Path) -> None:
    table = make_cloud(4_000, seed=6)
    rng = np.random.default_rng(6)
    table = table.append_column("key_point", pa.array(rng.integers(0, 2, 4_000).astype(np.uint8)))
    table = table.append_column("valid", pa.array(rng.random(4_000) < 0.5))
    source = parquet_source(table, tmp_path / "in.parquet")
    tile(source, tmp_path / "out", TilingOptions(jobs=1, leaf_points=1_500))
    got: dict[str, list[npt.NDArray[Any]]] = {"row_id": [], "key_point": [], "valid": []}
    for visit in walk(tmp_path / "out" / "tileset.json"):
        for path in (visit.path, visit.sidecar):
            assert path is not None  # the flags are in the sidecar: no encoding asks for them
            check_property_table(read_glb(path.read_bytes())[0])
        props = decode(visit.path)[0].properties
        for name, parts in got.items():
            parts.append(props[name])
    rows = np.concatenate(got["row_id"])
    order = np.argsort(rows)
    assert rows.dtype == np.uint32
    for name in ("key_point", "valid"):
        values = np.concatenate(got[name])[order]
        assert values.dtype == np.bool_
        assert np.array_equal(values, table[name].to_numpy(zero_copy_only=False).astype(bool))
