"""Small fixture files generated on the fly (never checked in)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import laspy
import numpy as np
import pyproj
import pytest

from spatialviz.formats import ReaderLimits

MakeLas = Callable[..., Path]


def write_las(
    path: Path,
    n: int = 1000,
    *,
    point_format: int = 3,
    version: str = "1.2",
    compress: bool = False,
    epsg: int | None = 2154,
    seed: int = 0,
) -> Path:
    rng = np.random.default_rng(seed)
    header = laspy.LasHeader(point_format=point_format, version=version)
    header.scales = np.array([0.01, 0.01, 0.01])
    header.offsets = np.array([650_000.0, 6_860_000.0, 0.0])
    if epsg is not None:
        header.add_crs(pyproj.CRS.from_epsg(epsg))
    las = laspy.LasData(header)
    las.x = 650_000.0 + rng.uniform(0, 100, n)
    las.y = 6_860_000.0 + rng.uniform(0, 100, n)
    las.z = rng.uniform(100, 150, n)
    las.intensity = rng.integers(0, 65535, n, dtype=np.uint16)
    las.classification = rng.integers(0, 10, n, dtype=np.uint8)
    if "red" in header.point_format.dimension_names:
        las.red = rng.integers(0, 65535, n, dtype=np.uint16)
        las.green = rng.integers(0, 65535, n, dtype=np.uint16)
        las.blue = rng.integers(0, 65535, n, dtype=np.uint16)
    las.write(str(path), laz_backend=laspy.LazBackend.Lazrs if compress else None)
    return path


@pytest.fixture
def make_las(tmp_path: Path) -> MakeLas:
    def make(name: str = "cloud.las", n: int = 1000, **kwargs: object) -> Path:
        return write_las(tmp_path / name, n, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def limits() -> ReaderLimits:
    return ReaderLimits(batch_rows=256)
