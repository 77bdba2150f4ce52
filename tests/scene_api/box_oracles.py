"""Oracles for box queries in the scene frame, from the source files with numpy and pyproj
alone (never the product's own frame code): shared by tests/scene_api/test_scene_frame_box.py
and the browser tests of the box tool (tests/e2e/test_scene_box_and_categories.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import laspy
import numpy as np
from pyproj import CRS, Transformer


def enu_oracle(las_path: Path, tileset: dict[str, Any]) -> np.ndarray:
    """Each LAS row in the scene frame: pyproj to ECEF (z as ellipsoidal height, the LAS
    convention without a vertical CRS), then the tileset's own root transform inverted,
    plus its recorded centre."""
    las = laspy.read(str(las_path))
    crs = CRS.from_epsg(32610).to_3d()
    ex, ey, ez = Transformer.from_crs(crs, "EPSG:4978", always_xy=True).transform(
        np.asarray(las.x), np.asarray(las.y), np.asarray(las.z)
    )
    m = np.asarray(tileset["root"]["transform"], dtype=np.float64).reshape(4, 4).T
    rotation, translation = m[:3, :3], m[:3, 3]  # tile coordinates -> ECEF
    ecef = np.column_stack([ex, ey, ez])
    tile = (ecef - translation) @ rotation  # rotation is orthonormal: its inverse is R^T
    center = np.asarray(tileset["extras"]["spatialviz"]["center"], dtype=np.float64)
    scene: np.ndarray = tile + center
    return scene


def chart_oracle(csv_path: Path, size: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Each CSV row in chart-box coordinates (each axis's own min..max onto 0..size), and
    the rows' population (the filter's column)."""
    table = np.genfromtxt(csv_path, delimiter=",", names=True, dtype=None, encoding="utf-8")
    cols = [np.asarray(table[c], dtype=np.float64) for c in ("age", "income", "happiness")]
    pos = np.column_stack(
        [(c - c.min()) / (c.max() - c.min()) * s for c, s in zip(cols, size, strict=True)]
    )
    return pos, np.asarray(table["population"], dtype=np.float64)
