"""sRGB-encoded 8-bit colours (what LAS, PLY, CSS hex and our colormaps hold) -> linear.

glTF 2.0 defines COLOR_0 as linear RGB, and USD's ``displayColor`` is linear by convention,
so every writer converts through these tables: one 256-entry lookup, no per-point maths.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_S = np.arange(256, dtype=np.float64) / 255.0

SRGB_TO_LINEAR = np.where(_S <= 0.04045, _S / 12.92, ((_S + 0.055) / 1.055) ** 2.4)
"""IEC 61966-2-1 decoding of each 8-bit sRGB code, as a float in [0, 1]."""

SRGB_TO_LINEAR_U8: npt.NDArray[np.uint8] = np.rint(SRGB_TO_LINEAR * 255.0).astype(np.uint8)
"""The same, rounded to the nearest 8-bit linear code (what a normalized ubyte COLOR_0 holds)."""


def srgb_to_linear_u8(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """8-bit sRGB codes -> 8-bit linear codes, any shape."""
    out: npt.NDArray[np.uint8] = np.take(SRGB_TO_LINEAR_U8, rgb)
    return out


def srgb_to_linear(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """8-bit sRGB codes -> linear floats in [0, 1], any shape (exact, for float formats)."""
    out: npt.NDArray[np.float32] = np.take(SRGB_TO_LINEAR.astype(np.float32), rgb)
    return out
