"""Tiling a real file through the engine and checking where its points landed against
pyproj's truth: shared by the placement tests of tests/geodesy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import laspy
import numpy as np

from spatialviz.formats import open_reader
from spatialviz.formats.base import PointReader, ReaderLimits
from spatialviz.tiling import TilingOptions, tile
from tests.geodesy.truth import F64, pyproj_ecef, tileset_points
from tests.tiling.helpers import load_json

TOLERANCE_M = 0.01


def open_file(path: Path) -> PointReader:
    reader: PointReader = open_reader(path, ReaderLimits(batch_rows=20_000))
    return reader


def tile_file(path: Path, out: Path) -> tuple[int, dict[str, Any]]:
    """Tile through the engine with small leaves (many tiles, several levels)."""
    summary = tile(lambda: open_file(path), out, TilingOptions(jobs=1, leaf_points=3_000))
    return summary.points, load_json(out / "tileset.json")


def las_truth(path: Path, z_to_metre: float | None) -> tuple[int, F64]:
    """laspy's count and pyproj's ECEF of every point, from laspy's own CRS parsing."""
    las = laspy.read(str(path))
    crs = las.header.parse_crs()
    assert crs is not None
    x, y, z = (np.asarray(v, dtype=np.float64) for v in (las.x, las.y, las.z))
    if z_to_metre is None:
        return len(x), pyproj_ecef(crs, x, y, z)
    return len(x), pyproj_ecef(crs.to_3d(), x, y, z * z_to_metre)


def assert_placed(tileset: Path, truth: F64) -> dict[str, float]:
    """Every point within 1 cm of pyproj, beyond its tile's quantization (uint16 steps over
    the tile's extent: ~1.5 cm over a 1 km root tile, which its geometric error covers)."""
    got = tileset_points(tileset)
    order = np.argsort(got["row_id"])
    assert np.array_equal(got["row_id"][order], np.arange(len(truth))), "each row once"
    err = np.linalg.norm(got["ecef"][order] - truth, axis=1)
    allowed = TOLERANCE_M + got["half_step"][order]
    worst = int(np.argmax(err - allowed))
    assert (err <= allowed).all(), (
        f"point {worst} is {err[worst]:.4f} m from pyproj (allowed {allowed[worst]:.4f} m)"
    )
    return {"max_error_m": float(err.max()), "max_half_step_m": float(got["half_step"].max())}
