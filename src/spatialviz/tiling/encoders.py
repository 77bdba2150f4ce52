"""Content encoders by name, so the choice travels as a string in picklable options."""

from __future__ import annotations

from functools import partial

from spatialviz.tiling.glb import ContentEncoder, encode_glb


def encoder_for(compression: str) -> ContentEncoder:
    """The encoder for ``TilingOptions.compression``."""
    if compression == "none":
        return encode_glb
    if compression == "meshopt":
        return partial(encode_glb, meshopt=True)
    raise ValueError(f"unknown compression {compression!r}")
