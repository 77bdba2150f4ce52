"""Ground truth for placement, from pyproj alone (never from the product's own frame code),
and tileset points brought to ECEF the way a 3D Tiles client does."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer

from spatialviz.tiling.glb import decode_points
from tests.tiling.helpers import load_json, walk

F64 = npt.NDArray[np.float64]


def pyproj_ecef(crs: CRS | str, x: F64, y: F64, z: F64) -> F64:
    """(n, 3) ECEF metres of source coordinates, z in the unit ``crs`` (3D) expects."""
    crs = CRS.from_user_input(crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a geoid grid is missing: ballpark
        to_ecef = Transformer.from_crs(crs, "EPSG:4978", always_xy=True)
    ex, ey, ez = to_ecef.transform(x, y, z)
    return np.column_stack([ex, ey, ez])


def root_matrix(tileset: Path) -> F64:
    transform = load_json(tileset)["root"]["transform"]
    return np.array(transform, dtype=np.float64).reshape(4, 4).T


def to_tile_frame(tileset: Path, ecef: F64) -> F64:
    """ECEF points expressed in the tiles' frame (the inverse of the root transform)."""
    m = root_matrix(tileset)
    return (ecef - m[:3, 3]) @ m[:3, :3]  # m[:3, :3] is a rotation: its inverse is .T


def tileset_points(tileset: Path) -> dict[str, Any]:
    """Every point of a tileset: ECEF (root transform x tile node transform x decoded
    quantized position), its row id, and the half quantization step (metres) of its tile."""
    m = root_matrix(tileset)
    ecef, row_ids, half_steps = [], [], []
    for visit in walk(tileset):
        data = visit.path.read_bytes()
        content = decode_points(data)  # dequantized by the node's translation/scale, z-up
        local = np.asarray(content.positions, dtype=np.float64)
        ecef.append(local @ m[:3, :3].T + m[:3, 3])
        row_ids.append(np.asarray(content.properties["row_id"]).astype(np.int64))
        scale = load_json_glb_scale(data)
        half_steps.append(np.full(len(local), 0.5 * float(np.linalg.norm(scale))))
    return {
        "ecef": np.concatenate(ecef),
        "row_id": np.concatenate(row_ids),
        "half_step": np.concatenate(half_steps),
    }


def load_json_glb_scale(data: bytes) -> F64:
    from spatialviz.tiling.glb import read_glb

    doc, _ = read_glb(data)
    return np.asarray(doc["nodes"][0]["scale"], dtype=np.float64)
