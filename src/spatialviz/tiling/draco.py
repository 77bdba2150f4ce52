"""Draco coding of a node's quantized positions and colours (PyPI ``DracoPy``), for
KHR_draco_mesh_compression.

Draco's sequential coder predicts each point from the ones before it and entropy-codes the
residuals (rANS), where meshopt's codec stores byte deltas in fixed bit widths. On the
benchmark cloud, points in Z-order: positions 3.1 bytes per point (meshopt: 3.5), colours
2.3 (meshopt: 2.9), at meshopt's speed (~0.11 us per point).

``preserve_order`` is not only about order: without it Draco switches to its kd-tree coder,
which is smaller still (4.9 bytes per point in all) but 8x slower, and it *merges points
equal in every attribute*, so a tile could lose points. We keep every point, in our order.

Positions go in as the integers of the node's uint16 grid, declared as 16-bit Draco
quantization over [0, 65535]: one quantization step is exactly one grid step, so nothing is
lost. Decoders hand them back as whole floats (the accessor says FLOAT) and the node's
``translation``/``scale`` place them, as with the uncompressed tiles.

KHR_draco_mesh_compression names TRIANGLES and TRIANGLE_STRIP as the modes it covers;
POINTS primitives like ours are read by three.js, CesiumJS and 3DTilesRendererJS, and
extending the text to them is KhronosGroup/glTF#1809. So ``meshopt`` is the strictly
conformant choice for point tiles and ``draco`` the smaller one (docs/scenes.md).
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import numpy.typing as npt

POSITION_ID = 0
"""Draco attribute id of the positions (DracoPy adds them first)..."""
COLOR_ID = 1
"""...and of the colours, when there are any."""

_TOP = 65535.0
_LEVEL = 7
"""Encoder level (0-10): 7 picks the best predictors for points; 10 is no smaller."""


def _dracopy() -> Any:
    return importlib.import_module("DracoPy")


def encode_points(q: npt.NDArray[np.uint16], colors: npt.NDArray[np.uint8] | None) -> bytes:
    """(n,3) uint16 grid positions (+ (n,3) linear colours) -> one Draco bitstream that
    decodes to the same points in the same order."""
    kwargs: dict[str, Any] = {}
    if colors is not None:
        kwargs["colors"] = np.ascontiguousarray(colors)
    data: bytes = _dracopy().encode(
        np.ascontiguousarray(q, dtype=np.float32),
        quantization_bits=16,
        quantization_range=_TOP,
        quantization_origin=[0.0, 0.0, 0.0],
        compression_level=_LEVEL,
        preserve_order=True,
        **kwargs,
    )
    return data


def decode_points(
    data: bytes,
) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.uint8] | None]:
    """A bitstream from :func:`encode_points` -> (n,3) positions and colours."""
    cloud = _dracopy().decode(data)
    q = np.rint(np.asarray(cloud.points, dtype=np.float64)).astype(np.uint16).reshape(-1, 3)
    colour = cloud.get_attribute_by_unique_id(COLOR_ID)
    colors = None
    if colour is not None:
        colors = np.asarray(colour["data"], dtype=np.uint8)[:, :3].copy()
    return q, colors
