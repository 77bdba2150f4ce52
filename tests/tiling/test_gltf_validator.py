"""Every GLB we write passes the Khronos glTF-Validator with zero errors.

The validator is the npm package in tools/validators (`npm ci` there installs it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from spatialviz.tiling import TilingOptions, tile
from spatialviz.tiling.glb import PointContent, decode_sidecar, encode_glb, encode_tile
from tests.tiling.conftest import Tiled
from tests.tiling.helpers import walk
from tests.tiling.sources import make_cloud, many_values_content, parquet_source

VALIDATORS = Path(__file__).resolve().parents[2] / "tools" / "validators"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (VALIDATORS / "node_modules" / "gltf-validator").exists(),
    reason="node or tools/validators/node_modules missing (run `npm ci` in tools/validators)",
)


def validate(paths: list[Path]) -> list[dict[str, object]]:
    assert NODE is not None
    proc = subprocess.run(
        [NODE, str(VALIDATORS / "validate_gltf.mjs"), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    reports: list[dict[str, object]] = json.loads(proc.stdout)
    return reports


def test_all_tiles_pass_gltf_validator(tiled: Tiled) -> None:
    visits = list(walk(tiled.out / "tileset.json"))
    sidecars = [v.sidecar for v in visits if v.sidecar is not None]
    assert sidecars  # the sidecars are glTF too: a client decodes them like a tile
    paths = [v.path for v in visits] + sidecars
    reports = validate(paths)
    assert len(reports) == len(paths)
    bad = [r for r in reports if r["errors"] != 0]
    assert bad == []


@pytest.mark.parametrize("compression", ["none", "meshopt", "draco"])
def test_rgb_only_and_compressed_tiles_pass(tmp_path: Path, compression: str) -> None:
    source = parquet_source(make_cloud(8_000, seed=9), tmp_path / "in.parquet")
    opts = TilingOptions(jobs=1, attributes="rgb", compression=compression, leaf_points=2_000)  # type: ignore[arg-type]
    tile(source, tmp_path / "out", opts)
    paths = [v.path for v in walk(tmp_path / "out" / "tileset.json")]
    bad = [r for r in validate(paths) if r["errors"] != 0]
    assert bad == []


@pytest.mark.parametrize("compression", ["none", "meshopt", "draco"])
def test_grid_exact_tiles_pass(tmp_path: Path, compression: str) -> None:
    """Positions on the source's grid (scale = the LAS scale) are just as valid."""
    rng = np.random.default_rng(3)
    xyz = np.rint(rng.uniform(0, 40, (3_000, 3)) / 0.01) * 0.01 - 20
    rgb = rng.integers(0, 256, (3_000, 3)).astype(np.uint8)
    path = tmp_path / "grid.glb"
    content = PointContent(xyz, rgb, {})
    path.write_bytes(encode_glb(content, compression=compression))  # type: ignore[arg-type]
    assert [r["errors"] for r in validate([path])] == [0]


def test_draco_tiles_with_every_attribute_pass(tmp_path: Path) -> None:
    """Draco codes position and colour; the other attributes and the property table stay
    plain views, permuted into Draco's order."""
    source = parquet_source(make_cloud(6_000, seed=5), tmp_path / "in.parquet")
    tile(source, tmp_path / "out", TilingOptions(jobs=1, compression="draco", leaf_points=2_000))
    visits = list(walk(tmp_path / "out" / "tileset.json"))
    paths = [v.path for v in visits] + [v.sidecar for v in visits if v.sidecar is not None]
    reports = validate(paths)
    assert len(reports) == len(paths) > 1
    assert [r for r in reports if r["errors"] != 0 or r["warnings"] != 0] == []


@pytest.mark.parametrize("compression", ["none", "meshopt", "draco"])
def test_tiles_with_more_values_than_vertex_slots_pass(tmp_path: Path, compression: str) -> None:
    """25 per-point values of every kind (flags, uint8/16, int16, float64, 64-bit ids): the
    tile is valid and has two vertex attributes, under WebGL's 16; the same values as a
    sidecar are valid too."""
    path = tmp_path / "many.glb"
    content = many_values_content(2_345)
    path.write_bytes(encode_glb(content, compression=compression))  # type: ignore[arg-type]
    side = tmp_path / "many.attrs.glb"
    lean = PointContent(content.positions, content.colors, {}, sidecar=content.properties)
    files = encode_tile(lean, compression=compression)  # type: ignore[arg-type]
    assert files.sidecar is not None
    side.write_bytes(files.sidecar)
    reports = validate([path, side])
    assert [(r["errors"], r["warnings"]) for r in reports] == [(0, 0), (0, 0)]
    assert decode_sidecar(files.sidecar).keys() == content.properties.keys()
