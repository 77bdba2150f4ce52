"""Morton (Z-order) codes over a fixed 2^21 integer grid.

Every point gets one 63-bit code from its integer grid coordinates. Sorting by that code
puts each octree node's points in one contiguous run at every level at once, and the grid
cell of a node at level ``l`` sampled with ``2^g`` cells per axis is simply the code's
prefix at level ``l + g``. That turns octree building and grid sampling into shifts and
comparisons on sorted arrays, with no per-point Python.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

MAX_LEVEL = 21
"""Bits per axis: 3 * 21 = 63 bits fit an int64/uint64 code."""

GRID_SIZE = 1 << MAX_LEVEL

U64 = npt.NDArray[np.uint64]


_SPREAD_STEPS = tuple(
    (np.uint64(shift), np.uint64(mask))
    for shift, mask in (
        (32, 0x1F00000000FFFF),
        (16, 0x1F0000FF0000FF),
        (8, 0x100F00F00F00F00F),
        (4, 0x10C30C30C30C30C3),
        (2, 0x1249249249249249),
    )
)


def _spread(v: npt.NDArray[np.uint64], scratch: U64 | None = None) -> U64:
    """Insert two zero bits between each of the low 21 bits, in place (``v`` is
    overwritten and returned): the codes of 10M points are 15 passes over 80 MB, and
    temporaries per pass cost more than the arithmetic."""
    tmp = np.empty_like(v) if scratch is None else scratch
    np.bitwise_and(v, np.uint64(0x1FFFFF), out=v)
    for shift, mask in _SPREAD_STEPS:
        np.left_shift(v, shift, out=tmp)
        np.bitwise_or(v, tmp, out=v)
        np.bitwise_and(v, mask, out=v)
    return v


def _compact(v: U64) -> U64:
    """Inverse of :func:`_spread`."""
    v = v & np.uint64(0x1249249249249249)
    v = (v ^ (v >> np.uint64(2))) & np.uint64(0x10C30C30C30C30C3)
    v = (v ^ (v >> np.uint64(4))) & np.uint64(0x100F00F00F00F00F)
    v = (v ^ (v >> np.uint64(8))) & np.uint64(0x1F0000FF0000FF)
    v = (v ^ (v >> np.uint64(16))) & np.uint64(0x1F00000000FFFF)
    v = (v ^ (v >> np.uint64(32))) & np.uint64(0x1FFFFF)
    return v


def encode(
    ix: npt.NDArray[np.integer], iy: npt.NDArray[np.integer], iz: npt.NDArray[np.integer]
) -> U64:
    """Interleave integer coordinates (x in the lowest bit of each triple)."""
    code: U64 = ix.astype(np.uint64)
    scratch = np.empty_like(code)
    _spread(code, scratch)
    lane = np.empty_like(code)
    for shift, axis in ((np.uint64(1), iy), (np.uint64(2), iz)):
        lane[...] = axis
        _spread(lane, scratch)
        np.left_shift(lane, shift, out=lane)
        np.bitwise_or(code, lane, out=code)
    return code


_ALL16 = np.arange(1 << 16, dtype=np.uint32)
_SPREAD16 = encode(_ALL16, np.zeros_like(_ALL16), np.zeros_like(_ALL16))
"""Each 16-bit value with two zero bits after each bit: 3 lookups make a 48-bit code."""


def encode16(q: npt.NDArray[np.integer]) -> U64:
    """:func:`encode` of (n, 3+) coordinates below 2^16 (the first three columns), by table
    lookup: the same codes, cheaper for the many small arrays of per-node sorting."""
    code: U64 = _SPREAD16[q[:, 0]]
    code |= _SPREAD16[q[:, 1]] << np.uint64(1)
    code |= _SPREAD16[q[:, 2]] << np.uint64(2)
    return code


def decode(code: U64) -> tuple[U64, U64, U64]:
    """Split a code (or a code prefix) back into its integer coordinates."""
    return _compact(code), _compact(code >> np.uint64(1)), _compact(code >> np.uint64(2))


def quantize(
    xyz: npt.NDArray[np.float64], origin: npt.NDArray[np.float64], size: float
) -> npt.NDArray[np.uint32]:
    """Map positions inside the root cube to integer grid coordinates, clamped to the grid."""
    scaled = (xyz - origin) * (GRID_SIZE / size)
    np.clip(scaled, 0, GRID_SIZE - 1, out=scaled)
    return scaled.astype(np.uint32)


def codes_for(xyz: npt.NDArray[np.float64], origin: npt.NDArray[np.float64], size: float) -> U64:
    """Morton codes of an (n, 3) float array relative to the root cube."""
    q = quantize(xyz, origin, size)
    return encode(q[:, 0], q[:, 1], q[:, 2])


def prefix(code: U64, level: int) -> U64:
    """The node (or grid cell) containing each code at ``level`` (0 = root)."""
    level = min(level, MAX_LEVEL)
    return code >> np.uint64(3 * (MAX_LEVEL - level))


def cells_at(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    z: npt.NDArray[np.float64],
    origin: npt.NDArray[np.float64],
    size: float,
    level: int,
) -> U64:
    """Morton keys of the level-``level`` cells containing the points (coarse grids only
    need their own few bits, not a full code)."""
    n = 1 << level
    k = n / size
    qs = []
    scaled = np.empty(len(x), dtype=np.float64)
    for v, o in ((x, origin[0]), (y, origin[1]), (z, origin[2])):
        np.subtract(v, o, out=scaled)
        scaled *= k
        np.clip(scaled, 0, n - 1, out=scaled)
        qs.append(scaled.astype(np.uint32))
    return encode(qs[0], qs[1], qs[2])
