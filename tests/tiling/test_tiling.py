"""The tiling engine end to end: every point exactly once, inside its box, valid JSON."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pyarrow as pa
import pytest
from pyproj import CRS

from spatialviz.geodesy.frame import GRID_TOLERANCE_M
from spatialviz.tiling import (
    TilingCancelledError,
    TilingError,
    TilingOptions,
    index_chunk,
    merge,
    plan,
    tile,
)
from spatialviz.tiling.colorspace import srgb_to_linear_u8
from spatialviz.tiling.glb import read_glb
from tests.geodesy.truth import pyproj_ecef, to_tile_frame
from tests.tiling.conftest import N_POINTS, Tiled
from tests.tiling.helpers import all_tilesets, box_bounds, decode, load_json, walk
from tests.tiling.sources import make_cloud, parquet_source
from tests.tiling.tileset_schema import TILESET


def _gather(out: Path) -> dict[str, np.ndarray]:
    parts: dict[str, list[np.ndarray]] = {
        "pos": [],
        "tol": [],
        "rgb": [],
        "row_id": [],
        "intensity": [],
        "classification": [],
    }
    for visit in walk(out / "tileset.json"):
        content, step = decode(visit.path)
        n = len(content.positions)
        parts["pos"].append(content.positions)
        parts["tol"].append(np.tile(step / 2 + 1e-6, (n, 1)))
        assert content.colors is not None
        parts["rgb"].append(content.colors)
        for name in ("row_id", "intensity", "classification"):
            parts[name].append(content.properties[name])
    return {k: np.concatenate(v) for k, v in parts.items()}


def _expected_tile_positions(tiled: Tiled) -> np.ndarray:
    """The cloud (EPSG:2154, metres) in the tiles' frame, by pyproj: ECEF, then the inverse
    of the root transform. The engine places points through a lookup grid verified to stay
    within GRID_TOLERANCE_M (1 mm) of pyproj, then quantizes."""
    t = tiled.table
    xyz = [np.asarray(t[c].to_numpy(), dtype=np.float64) for c in ("x", "y", "z")]
    ecef = pyproj_ecef(CRS.from_epsg(2154).to_3d(), *xyz)
    return to_tile_frame(tiled.out / "tileset.json", ecef)


def test_every_point_stored_exactly_once_within_quantization(tiled: Tiled) -> None:
    got = _gather(tiled.out)
    order = np.argsort(got["row_id"])
    assert np.array_equal(got["row_id"][order], np.arange(N_POINTS))
    t = tiled.table
    expected = _expected_tile_positions(tiled)
    err = np.abs(got["pos"][order] - expected)
    assert (err <= got["tol"][order] + GRID_TOLERANCE_M).all()
    rgb = np.column_stack([t["red"], t["green"], t["blue"]])
    assert np.array_equal(got["rgb"][order], srgb_to_linear_u8(rgb))  # glTF COLOR_0 is linear
    # ... and the tileset says so (the viewer still decodes sRGB for tilesets without it)
    assert load_json(tiled.out / "tileset.json")["extras"]["spatialviz"]["color_space"] == "linear"
    assert np.array_equal(got["intensity"][order], t["intensity"].to_numpy())
    assert np.array_equal(got["classification"][order], t["classification"].to_numpy())
    assert tiled.summary.points == N_POINTS


def test_points_inside_their_tile_and_boxes_nested(tiled: Tiled) -> None:
    visits = list(walk(tiled.out / "tileset.json"))
    assert len(visits) == tiled.summary.tiles > 20
    assert max(v.depth for v in visits) >= 4
    for v in visits:
        content, step = decode(v.path)
        lo, hi = box_bounds(v.box)
        assert (content.positions >= lo - step).all()
        assert (content.positions <= hi + step).all()
        if v.parent_box is not None:
            plo, phi = box_bounds(v.parent_box)
            assert (lo >= plo - 1e-6).all()
            assert (hi <= phi + 1e-6).all()
            assert v.parent_error is not None
            assert v.geometric_error <= v.parent_error


def test_root_spans_whole_extent(tiled: Tiled) -> None:
    doc = load_json(tiled.out / "tileset.json")
    lo, hi = box_bounds(doc["root"]["boundingVolume"]["box"])
    xyz = _expected_tile_positions(tiled)
    assert np.allclose(lo, xyz.min(axis=0), atol=GRID_TOLERANCE_M)
    assert np.allclose(hi, xyz.max(axis=0), atol=GRID_TOLERANCE_M)


def test_tilesets_are_valid_3d_tiles_1_1(tiled: Tiled) -> None:
    files = all_tilesets(tiled.out)
    assert len(files) > 1, "deep trees continue in external tilesets"
    for path in files:
        doc = load_json(path)
        jsonschema.validate(doc, TILESET)
        _check_tiles(doc["root"], path.parent)


def _check_tiles(tile: dict[str, Any], base: Path) -> None:
    uri = str(tile.get("content", {}).get("uri", ""))
    if not uri.endswith(".json"):
        assert tile["refine"] == "ADD"
    if uri:
        assert (base / uri).exists()
    for child in tile.get("children", []):
        _check_tiles(child, base)


def test_geometric_error_shrinks_with_depth(tiled: Tiled) -> None:
    doc = load_json(tiled.out / "tileset.json")
    root = doc["root"]
    assert doc["geometricError"] > root["geometricError"] > 0
    child = root["children"][0]
    assert 0 <= child["geometricError"] < root["geometricError"]


def test_root_transform_places_tileset_on_the_globe(tiled: Tiled) -> None:
    transform = load_json(tiled.out / "tileset.json")["root"]["transform"]
    m = np.array(transform).reshape(4, 4).T
    origin = m[:3, 3]
    assert 6.35e6 < np.linalg.norm(origin) < 6.40e6  # on the ellipsoid, near Paris
    up = m[:3, 2]
    assert np.dot(up, origin / np.linalg.norm(origin)) > 0.99
    assert np.allclose(m[:3, :3].T @ m[:3, :3], np.eye(3), atol=1e-9)


def test_glb_structure_and_metadata(tiled: Tiled) -> None:
    visits = list(walk(tiled.out / "tileset.json"))
    path = visits[0].path
    doc, _ = read_glb(path.read_bytes())
    assert doc["extensionsRequired"] == ["KHR_mesh_quantization"]
    prim = doc["meshes"][0]["primitives"][0]
    assert prim["mode"] == 0
    assert doc["accessors"][prim["attributes"]["POSITION"]]["componentType"] == 5123
    # Lean tiles: the row id (a pick's identity) only; the other columns are in the sidecar,
    # which the tileset names in the tile's extras (not as content).
    table = doc["extensions"]["EXT_structural_metadata"]["propertyTables"][0]
    assert set(table["properties"]) == {"row_id"}
    feature_ids = prim["extensions"]["EXT_mesh_features"]["featureIds"][0]
    assert feature_ids["propertyTable"] == 0
    assert "attribute" not in feature_ids
    assert all(v.sidecar == v.path.with_name(v.path.stem + ".attrs.glb") for v in visits)
    assert all(v.sidecar is not None and v.sidecar.exists() for v in visits)
    assert visits[0].sidecar is not None
    side, _ = read_glb(visits[0].sidecar.read_bytes())
    assert "meshes" not in side
    side_table = side["extensions"]["EXT_structural_metadata"]["propertyTables"][0]
    assert set(side_table["properties"]) == {"intensity", "classification"}
    extras = load_json(tiled.out / "tileset.json")["extras"]["spatialviz"]["properties"]
    assert extras == {"tile": ["row_id"], "sidecar": ["intensity", "classification"]}


def test_tile_properties_choose_what_tiles_carry(tmp_path: Path) -> None:
    source = parquet_source(make_cloud(3_000), tmp_path / "in.parquet")
    for keep, tile_cols, files in (
        (("intensity",), {"intensity", "row_id"}, 2),
        ("all", {"intensity", "classification", "row_id"}, 1),
    ):
        out = tmp_path / f"out-{files}"
        tile(source, out, TilingOptions(jobs=1, tile_properties=keep))  # type: ignore[arg-type]
        visit = next(iter(walk(out / "tileset.json")))
        doc, _ = read_glb(visit.path.read_bytes())
        table = doc["extensions"]["EXT_structural_metadata"]["propertyTables"][0]
        assert set(table["properties"]) == tile_cols
        assert len(list(out.glob("tiles/0-0-0-0*.glb"))) == files
        content, _ = decode(visit.path)
        assert set(content.properties) == {"intensity", "classification", "row_id"}


def test_progress_reports_every_stage_in_order(tiled: Tiled) -> None:
    stages = [s for s, _ in tiled.stages]
    firsts = [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s]
    assert firsts == ["scan", "distribute", "index", "merge"]
    assert all(0.0 <= f <= 1.0 for _, f in tiled.stages)
    assert tiled.stages[-1] == ("merge", 1.0)


def test_rgb_only_mode_and_16_bit_colours(tmp_path: Path) -> None:
    table = make_cloud(5_000, seed=3, colors16=True)
    source = parquet_source(table, tmp_path / "in.parquet")
    summary = tile(source, tmp_path / "out", TilingOptions(jobs=1, attributes="rgb"))
    visits = list(walk(tmp_path / "out" / "tileset.json"))
    content, _ = decode(visits[0].path)
    assert content.properties == {}
    assert content.colors is not None
    total = sum(p.path.stat().st_size for p in visits)
    assert total / summary.points < 13.5  # 12 bytes/point + headers
    assert "transform" not in load_json(tmp_path / "out" / "tileset.json")["root"]
    rows = []
    for v in visits:
        c, _ = decode(v.path)
        assert c.colors is not None
        rows.append(c.colors)
    got = np.concatenate(rows)
    assert got.max() > 200  # 16-bit colours were scaled down, not truncated


def test_cancel_leaves_nothing_behind(tmp_path: Path) -> None:
    source = parquet_source(make_cloud(20_000), tmp_path / "in.parquet")
    calls = {"n": 0}

    def cancel() -> bool:
        calls["n"] += 1
        return calls["n"] > 2

    with pytest.raises(TilingCancelledError):
        tile(source, tmp_path / "out", TilingOptions(jobs=1), cancel=cancel)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["in.parquet"]


def test_a_non_finite_coordinate_fails_the_run_and_leaves_nothing_behind(tmp_path: Path) -> None:
    """Batches are examined in threads: an error in a late one must still surface, as a
    TilingError, with no output and no scratch left."""
    table = make_cloud(20_000, seed=8)
    x = table["x"].to_numpy().copy()
    x[17_500] = np.inf  # in the third 7,000-row batch
    table = table.set_column(table.schema.get_field_index("x"), "x", pa.array(x))
    source = parquet_source(table, tmp_path / "in.parquet")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(TilingError, match="non-finite"):
        tile(source, tmp_path / "out", TilingOptions(jobs=1), workdir=scratch)
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet", "scratch"]
    assert list(scratch.iterdir()) == []


def test_publishing_replaces_an_existing_tileset(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    source = parquet_source(make_cloud(3_000), tmp_path / "in.parquet")
    tile(source, out, TilingOptions(jobs=1))
    assert (out / "tileset.json").exists()
    assert not (out / "stale.txt").exists()


def test_stages_run_separately_like_a_celery_chord(tmp_path: Path) -> None:
    source = parquet_source(make_cloud(30_000, seed=5), tmp_path / "in.parquet")
    opts = TilingOptions(jobs=1, leaf_points=3_000, max_chunk_points=8_000)
    p = plan(source, opts, str(tmp_path / "work"), str(tmp_path / "out"))
    assert len(p.chunks) > 2
    p = pickle.loads(pickle.dumps(p))  # noqa: S301 -- our own bytes
    assert sum(c.count for c in p.chunks) == 30_000
    results = [index_chunk(p, c.id) for c in reversed(p.chunks)]
    results.append(index_chunk(p, 0))  # a retried task overwrites, it does not duplicate
    summary = merge(p, results)  # duplicates from retries count once
    assert summary.points == 30_000
    doc = json.loads((tmp_path / "out" / "tileset.json").read_text())
    jsonschema.validate(doc, TILESET)


@pytest.mark.parametrize(
    ("compression", "extension"),
    [("meshopt", "EXT_meshopt_compression"), ("draco", "KHR_draco_mesh_compression")],
)
def test_compressed_tiles_round_trip(tmp_path: Path, compression: str, extension: str) -> None:
    table = make_cloud(6_000, seed=4)
    source = parquet_source(table, tmp_path / "in.parquet")
    options = TilingOptions(jobs=1, compression=compression, leaf_points=1_500)  # type: ignore[arg-type]
    tile(source, tmp_path / "out", options)
    got = _gather(tmp_path / "out")
    order = np.argsort(got["row_id"])
    assert np.array_equal(got["row_id"][order], np.arange(6_000))
    center = np.array(
        load_json(tmp_path / "out" / "tileset.json")["extras"]["spatialviz"]["center"]
    )
    expected = np.column_stack([table["x"], table["y"], table["z"]]) - center
    assert (np.abs(got["pos"][order] - expected) <= got["tol"][order]).all()
    # The re-ordering inside each tile (meshopt: Z-order; Draco: its kd-tree's order) moves
    # every attribute with its point.
    rgb = np.column_stack([table["red"], table["green"], table["blue"]])
    assert np.array_equal(got["rgb"][order], srgb_to_linear_u8(rgb))
    assert np.array_equal(got["intensity"][order], table["intensity"].to_numpy())
    assert np.array_equal(got["classification"][order], table["classification"].to_numpy())
    doc, _ = read_glb(next(iter(walk(tmp_path / "out" / "tileset.json"))).path.read_bytes())
    assert extension in doc["extensionsRequired"]


@pytest.mark.parametrize("header", ["true", "lying"])
def test_header_bounds_single_pass_and_deep_chunks(tmp_path: Path, header: str) -> None:
    table = make_cloud(20_000, seed=6)
    xyz = np.column_stack([table["x"], table["y"], table["z"]])
    lo, hi = xyz.min(axis=0), xyz.max(axis=0)
    if header == "lying":
        hi = lo + (hi - lo) / 3  # most points fall outside: must recount on true bounds
    bounds = (tuple(map(float, lo)), tuple(map(float, hi)))
    source = parquet_source(table, tmp_path / "in.parquet", bounds=bounds)  # type: ignore[arg-type]
    # A tiny chunk budget forces chunks below the bucket level (filtered bucket reads).
    opts = TilingOptions(jobs=1, leaf_points=500, max_chunk_points=600)
    p = plan(source, opts, str(tmp_path / "work"), str(tmp_path / "out"))
    assert max(c.level for c in p.chunks) > 3
    results = [index_chunk(p, c.id) for c in p.chunks]
    assert merge(p, results).points == 20_000
    got = _gather(tmp_path / "out")
    assert np.array_equal(np.sort(got["row_id"]), np.arange(20_000))
