"""Content encoders by name, so the choice travels as a string in picklable options."""

from __future__ import annotations

from functools import partial

from spatialviz.tiling.glb import ContentEncoder, encode_tile
from spatialviz.tiling.options import COMPRESSIONS


def encoder_for(compression: str) -> ContentEncoder:
    """The encoder for ``TilingOptions.compression``."""
    if compression not in COMPRESSIONS:
        raise ValueError(f"unknown compression {compression!r}")
    return partial(encode_tile, compression=compression)
