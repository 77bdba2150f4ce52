"""Settings of one tiling run. Plain, frozen and picklable: they travel to workers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Compression = Literal["none", "meshopt", "draco"]
COMPRESSIONS: tuple[Compression, ...] = ("none", "meshopt", "draco")

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str) -> int:
    """'600M', '1.5GiB', '4096' -> bytes."""
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (expected e.g. 512M, 2G)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


@dataclass(frozen=True)
class TilingOptions:
    """How to tile.

    ``leaf_points``: a node whose points fit under this stays a leaf. ``grid_bits``: each
    inner node keeps one point per cell of a ``2^grid_bits``-per-axis grid over its cube
    (7 -> 128^3). Together they keep nodes at roughly 15k-100k points: few enough requests
    for a client to fill the screen quickly, each small enough (0.2-1.2 MB) to decode in a
    frame budget on a headset.
    """

    memory_budget: int = 700 << 20
    jobs: int = 2
    attributes: Literal["all", "rgb"] | tuple[str, ...] = "all"
    compression: Compression = "none"
    leaf_points: int = 80_000
    grid_bits: int = 7
    levels_per_tileset: int = 5
    max_chunk_points: int | None = None
    """Override the chunk size derived from the memory budget (tests, tuning)."""
    tile_properties: Literal["all"] | tuple[str, ...] = ()
    """The per-point columns a tile itself carries besides ``row_id`` (and ``point_size``,
    which a size-by-column encoding makes): what the scene's encoding needs. Every other
    column goes to the node's sidecar (``tiles/<node>.attrs.glb``), which a client fetches
    only when asked to colour by it (docs/scenes.md, "Tile content"). ``"all"``: every
    column in the tile and no sidecars (the layout before sidecars)."""

    def chunk_points(self) -> int:
        """Points one chunk may hold so that ``jobs`` indexers fit the memory budget.

        ~160 bytes per point covers the chunk's columns, the Morton codes, the sort
        permutation and the per-level temporaries; ~90 MB per process is the interpreter
        with numpy and pyarrow loaded.
        """
        if self.max_chunk_points is not None:
            return self.max_chunk_points
        per_worker = self.memory_budget // max(1, self.jobs) - (90 << 20)
        return max(100_000, per_worker // 160)
