"""Writing one node's tile and describing it for the hierarchy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from spatialviz.formats.base import ROW_ID_COLUMN
from spatialviz.tiling import morton
from spatialviz.tiling.encoders import encoder_for
from spatialviz.tiling.glb import PointContent
from spatialviz.tiling.plan import Plan


@dataclass(frozen=True)
class NodeRecord:
    """A written node: where it sits in the octree and the tight box of its own points
    (in the tileset's local frame)."""

    level: int
    key: int
    count: int
    lo: tuple[float, float, float]
    hi: tuple[float, float, float]
    bytes: int
    """Of the node's files: the tile and its sidecar."""
    sidecar: bool = False
    """Whether ``tiles/<name>.attrs.glb`` holds the columns the tile leaves out."""

    @property
    def name(self) -> str:
        return node_name(self.level, self.key)


SIDECAR_SUFFIX = ".attrs.glb"
"""A node's sidecar: ``tiles/<node>.attrs.glb`` beside ``tiles/<node>.glb``."""


def node_name(level: int, key: int) -> str:
    x, y, z = (int(v[0]) for v in morton.decode(np.array([key], dtype=np.uint64)))
    return f"{level}-{x}-{y}-{z}"


def write_node(plan: Plan, level: int, key: int, rec: npt.NDArray[np.void]) -> NodeRecord:
    """Encode the records of one node into ``tiles/<name>.glb`` (and the columns the tiles
    leave out into ``tiles/<name>.attrs.glb``)."""
    local = np.column_stack([rec["x"], rec["y"], rec["z"]]) - np.asarray(plan.center)
    colors = None
    if plan.has_color:
        colors = np.column_stack(
            [(rec[c] >> plan.color_shift).astype(np.uint8) for c in ("red", "green", "blue")]
        )
    flags = plan.flag_names
    properties = {n: stored_values(n, rec[n], flags) for n in plan.tile_property_names}
    sidecar = {n: stored_values(n, rec[n], flags) for n in plan.sidecar_property_names}
    files = encoder_for(plan.options.compression)(
        PointContent(positions=local, colors=colors, properties=properties, sidecar=sidecar)
    )
    tiles = Path(plan.output_dir) / "tiles"
    name = node_name(level, key)
    (tiles / f"{name}.glb").write_bytes(files.tile)
    size = len(files.tile)
    if files.sidecar is not None:
        (tiles / f"{name}{SIDECAR_SUFFIX}").write_bytes(files.sidecar)
        size += len(files.sidecar)
    lo = [float(local[:, i].min()) for i in range(3)]
    hi = [float(local[:, i].max()) for i in range(3)]
    return NodeRecord(
        level=level,
        key=key,
        count=len(rec),
        lo=(lo[0], lo[1], lo[2]),
        hi=(hi[0], hi[1], hi[2]),
        bytes=size,
        sidecar=files.sidecar is not None,
    )


def stored_values(name: str, values: npt.NDArray[Any], flags: frozenset[str]) -> npt.NDArray[Any]:
    """A column as the tile stores it: one-bit flags as booleans (bit-packed), the row id
    as uint32 where the tile's ids fit (exact either way; half the bytes of int64)."""
    if name in flags and (len(values) == 0 or int(values.max()) <= 1):
        return values.astype(np.bool_)
    if name == ROW_ID_COLUMN and len(values) and values.min() >= 0 and values.max() <= 0xFFFFFFFF:
        return values.astype(np.uint32)
    return values


def sort_by_code(plan: Plan, rec: npt.NDArray[np.void]) -> tuple[npt.NDArray[np.void], morton.U64]:
    """Records and their Morton codes, sorted by code."""
    codes = morton.cells_at(
        rec["x"], rec["y"], rec["z"], np.asarray(plan.origin), plan.size, morton.MAX_LEVEL
    )
    order = np.argsort(codes)
    return rec[order], codes[order]
