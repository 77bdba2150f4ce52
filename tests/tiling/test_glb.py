"""One node's GLB: grid-exact positions, linear colours, attributes kept with their points."""

from __future__ import annotations

import numpy as np
import pytest

from spatialviz.tiling.colorspace import SRGB_TO_LINEAR, srgb_to_linear_u8
from spatialviz.tiling.glb import PointContent, decode_points, encode_glb, read_glb
from spatialviz.tiling.quantize import grid_step


def _content(n: int, *, grid: float | None, span: float = 50.0, seed: int = 0) -> PointContent:
    rng = np.random.default_rng(seed)
    xyz = rng.uniform(-span / 2, span / 2, (n, 3))
    if grid is not None:
        # Like a LAS file read back: integers times the scale plus offsets, minus a centre.
        xyz = np.rint((xyz + 650_123.456) / grid) * grid - 650_123.456
    colors = rng.integers(0, 256, (n, 3)).astype(np.uint8)
    props = {"row_id": np.arange(n, dtype=np.int64), "intensity": rng.integers(0, 4000, n)}
    return PointContent(positions=xyz, colors=colors, properties=props)


@pytest.mark.parametrize("compression", ["none", "meshopt", "draco"])
def test_points_on_a_source_grid_decode_exactly_with_every_attribute(compression: str) -> None:
    content = _content(5_000, grid=0.01)
    data = encode_glb(content, compression=compression)  # type: ignore[arg-type]
    doc, _ = read_glb(data)
    assert doc["nodes"][0]["scale"] == pytest.approx([0.01] * 3)
    got = decode_points(data)
    row = got.properties["row_id"]
    if compression != "none":  # stored in the codec's favourite order, not input order
        assert not np.array_equal(row, np.arange(5_000))
    assert np.abs(got.positions - content.positions[row]).max() < 1e-6
    assert got.colors is not None
    assert content.colors is not None
    assert np.array_equal(got.colors, srgb_to_linear_u8(content.colors[row]))
    assert np.array_equal(got.properties["intensity"], content.properties["intensity"][row])


def test_off_grid_or_too_wide_nodes_keep_16_bit_steps_over_their_extent() -> None:
    for content in (_content(2_000, grid=None), _content(2_000, grid=0.001, span=200.0)):
        data = encode_glb(content)
        doc, _ = read_glb(data)
        extent = content.positions.max(axis=0) - content.positions.min(axis=0)
        assert doc["nodes"][0]["scale"] == pytest.approx(extent[[0, 2, 1]] / 65535)
        got = decode_points(data)
        assert np.abs(got.positions - content.positions).max() <= extent.max() / 65535


def test_grid_step_is_the_coarsest_common_grid() -> None:
    v = np.array([0.0, 0.02, 0.06, 0.1]) + 12.34
    assert grid_step(v, float(v.min()), float(v.max())) == pytest.approx(0.02)
    assert grid_step(v + np.array([0, 0, 1e-6, 0]), 12.34, 12.44) is None
    assert grid_step(np.array([1.0, 1.0]), 1.0, 1.0) is None  # flat: no grid to learn
    assert grid_step(np.array([0.0, np.nan, 1.0]), 0.0, 1.0) is None


@pytest.mark.parametrize("compression", ["none", "meshopt", "draco"])
def test_colour_0_is_linear(compression: str) -> None:
    """sRGB 188 is ~0.5 in linear light: the GLB must hold ~128, not 188."""
    content = _content(64, grid=0.01)
    srgb = np.full((64, 3), 188, dtype=np.uint8)
    srgb[:, 2] = 255
    data = encode_glb(
        PointContent(positions=content.positions, colors=srgb, properties={}),
        compression=compression,  # type: ignore[arg-type]
    )
    got = decode_points(data)
    assert got.colors is not None
    assert SRGB_TO_LINEAR[188] == pytest.approx(0.5, abs=0.01)
    assert (got.colors[:, :2] == 128).all()
    assert (got.colors[:, 2] == 255).all()


@pytest.mark.parametrize("compression", ["meshopt", "draco"])
def test_identical_points_all_survive_compression(compression: str) -> None:
    """Real files repeat points (overlapping scans, re-exported tiles). Draco's kd-tree
    coder would merge points equal in every coded attribute; every copy must stay, with
    its own properties."""
    base = _content(300, grid=0.01, seed=4)
    twice = np.concatenate([base.positions, base.positions, base.positions[:10]])
    assert base.colors is not None
    colors = np.concatenate([base.colors, base.colors, base.colors[:10]])
    rows = np.arange(len(twice), dtype=np.int64)
    content = PointContent(positions=twice, colors=colors, properties={"row_id": rows})
    got = decode_points(encode_glb(content, compression=compression))  # type: ignore[arg-type]
    row = got.properties["row_id"]
    assert sorted(row.tolist()) == rows.tolist()
    assert np.abs(got.positions - twice[row]).max() < 1e-6
    assert got.colors is not None
    assert np.array_equal(got.colors, srgb_to_linear_u8(colors[row]))


@pytest.mark.parametrize("n", [1, 2, 1_000])
def test_draco_tiles_without_colour_round_trip(n: int) -> None:
    """Draco then codes positions alone; tiny tiles (one point) are valid streams too."""
    base = _content(n, grid=0.01, seed=n)
    content = PointContent(base.positions, None, {"row_id": np.arange(n, dtype=np.int64)})
    data = encode_glb(content, compression="draco")
    doc, _ = read_glb(data)
    assert doc["meshes"][0]["primitives"][0]["extensions"]["KHR_draco_mesh_compression"][
        "attributes"
    ] == {"POSITION": 0}
    got = decode_points(data)
    assert got.colors is None
    row = got.properties["row_id"]
    assert sorted(row.tolist()) == list(range(n))
    assert np.abs(got.positions - base.positions[row]).max() < 1e-6
