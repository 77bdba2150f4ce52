"""Unit tests for the pure pieces: Morton codes, grid sampling, sizes."""

from __future__ import annotations

import numpy as np
import pytest

from spatialviz.tiling import morton, parse_size
from spatialviz.tiling.octree import iter_nodes, select_levels


def test_morton_round_trip_and_prefix_nesting() -> None:
    rng = np.random.default_rng(0)
    q = rng.integers(0, morton.GRID_SIZE, (1000, 3)).astype(np.uint32)
    codes = morton.encode(q[:, 0], q[:, 1], q[:, 2])
    x, y, z = morton.decode(codes)
    assert np.array_equal(np.column_stack([x, y, z]), q)
    parent = morton.decode(morton.prefix(codes, 5))
    assert np.array_equal(parent[0], q[:, 0] >> (morton.MAX_LEVEL - 5))


def test_the_16_bit_table_encoder_gives_the_same_codes() -> None:
    """encode16 (tile-local sorting, the spatial index) is a lookup-table shortcut of
    encode: one interleaving for the whole project, so the two cannot disagree."""
    rng = np.random.default_rng(2)
    q = rng.integers(0, 1 << 16, (10_000, 4)).astype(np.uint16)
    q[:3, :3] = [[0, 0, 0], [65535, 65535, 65535], [1, 0, 65535]]
    expected = morton.encode(q[:, 0], q[:, 1], q[:, 2])
    assert np.array_equal(morton.encode16(q), expected)
    assert int(morton.encode16(q[1:2])[0]) == (1 << 48) - 1


def test_grid_sampling_keeps_each_point_once_and_one_per_cell() -> None:
    rng = np.random.default_rng(1)
    q = rng.integers(0, morton.GRID_SIZE, (50_000, 3)).astype(np.uint32)
    codes = np.sort(morton.encode(q[:, 0], q[:, 1], q[:, 2]))
    sel = select_levels(codes, 0, leaf_points=1_000, grid_bits=3)
    assert (sel.level_of >= 0).all()
    root = codes[sel.level_of == 0]
    cells = morton.prefix(root, 3)
    assert np.unique(cells).size == cells.size  # one point per occupied cell
    nodes = list(iter_nodes(codes, sel.level_of))
    assert sum(n.index.size for n in nodes) == codes.size
    for node in nodes:
        assert (morton.prefix(codes[node.index], node.level) == node.key).all()


@pytest.mark.parametrize(
    ("text", "expected"), [("700M", 700 << 20), ("2G", 2 << 30), ("1.5GiB", 3 << 29), ("42", 42)]
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


def test_parse_size_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size("lots")
