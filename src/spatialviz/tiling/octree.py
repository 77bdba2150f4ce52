"""Which octree node keeps each point: top-down grid sampling over Morton-sorted codes.

At each level every node keeps one point per occupied cell of a ``2^grid_bits`` grid over
its cube (the middle point, in Morton order, of that cell's run: close to the cell centre,
so a level looks like an even sample of space, not of the file order). A node reached by
few enough points keeps all of them and becomes a leaf. Every point is kept by exactly one
node -- the coarsest that wants it -- which is what 3D Tiles ``refine: ADD`` needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from spatialviz.tiling.morton import MAX_LEVEL, U64, prefix

DEEPEST_LEVEL = MAX_LEVEL - 1
"""Nodes at this level keep whatever reaches them (e.g. thousands of duplicate points)."""


@dataclass(frozen=True)
class Selection:
    level_of: npt.NDArray[np.int8]
    """Level of the node that keeps each point."""
    sampled_at_start: npt.NDArray[np.bool_]
    """Points the start-level node kept by sampling (not by being a leaf)."""


def _run_starts(keys: U64) -> npt.NDArray[np.intp]:
    """Start index of each run of equal keys in a sorted array."""
    if keys.size == 0:
        return np.zeros(0, dtype=np.intp)
    change = np.empty(keys.size, dtype=np.bool_)
    change[0] = True
    np.not_equal(keys[1:], keys[:-1], out=change[1:])
    return np.flatnonzero(change)


def select_levels(
    codes: U64,
    start_level: int,
    *,
    leaf_points: int,
    grid_bits: int,
    forced_level: npt.NDArray[np.int8] | None = None,
    allow_leaves: bool = True,
) -> Selection:
    """Assign each point (``codes`` sorted ascending) to the level of the node keeping it.

    ``forced_level``: a point is kept at that level at the latest (merge uses it to stop
    upper-level sampling at the chunk roots). ``allow_leaves=False``: never keep all the
    points of a small node (the upper hierarchy only sees chunk-root samples, so its
    counts say nothing about whether a node is a leaf).
    """
    n = codes.size
    level_of = np.full(n, -1, dtype=np.int8)
    sampled_at_start = np.zeros(n, dtype=np.bool_)
    remaining = np.arange(n, dtype=np.intp)
    level = start_level
    while remaining.size:
        sub = codes[remaining]
        cells = prefix(sub, level + grid_bits)
        starts = _run_starts(cells)
        counts = np.diff(np.append(starts, sub.size))
        take = np.zeros(sub.size, dtype=np.bool_)
        take[starts + counts // 2] = True
        if level == start_level:
            sampled_at_start[remaining[take]] = True
        if level >= DEEPEST_LEVEL:
            take[:] = True
        elif allow_leaves:
            node_starts = _run_starts(prefix(sub, level))
            node_counts = np.diff(np.append(node_starts, sub.size))
            take |= np.repeat(node_counts <= leaf_points, node_counts)
        if forced_level is not None:
            take |= forced_level[remaining] <= level
        level_of[remaining[take]] = level
        remaining = remaining[~take]
        level += 1
    return Selection(level_of=level_of, sampled_at_start=sampled_at_start)


@dataclass(frozen=True)
class NodeSlice:
    level: int
    key: int
    """Morton prefix of the node at its level."""
    index: npt.NDArray[np.intp]
    """Positions (into the sorted arrays) of the node's points."""


def iter_nodes(codes: U64, level_of: npt.NDArray[np.int8]) -> Iterator[NodeSlice]:
    """Group points by the node that keeps them, coarsest level first."""
    for level in np.unique(level_of):
        idx = np.flatnonzero(level_of == level)
        keys = prefix(codes[idx], int(level))
        starts = _run_starts(keys)
        ends = np.append(starts[1:], idx.size)
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            yield NodeSlice(level=int(level), key=int(keys[s]), index=idx[s:e])
