"""Small picklable point sources for the tiling tests (the real readers live in formats)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from spatialviz.formats.base import PointReader, SourceInfo
from spatialviz.tiling import PointSource
from spatialviz.tiling.glb import PointContent


class ParquetPoints:
    """Streams a canonical-convention Parquet file."""

    def __init__(
        self, path: Path, batch_rows: int, crs: str | None, bounds: Bounds | None = None
    ) -> None:
        self._file = pq.ParquetFile(path)
        self._batch_rows = batch_rows
        self.info = SourceInfo(
            format="parquet",
            declared_rows=self._file.metadata.num_rows,
            crs_wkt=crs,
            bounds=bounds,
        )

    def iter_batches(self) -> Iterator[pa.RecordBatch]:
        yield from self._file.iter_batches(batch_size=self._batch_rows)

    def close(self) -> None:
        self._file.close()


Bounds = tuple[tuple[float, float, float], tuple[float, float, float]]


def _open(path: Path, batch_rows: int, crs: str | None, bounds: Bounds | None) -> PointReader:
    return ParquetPoints(path, batch_rows, crs, bounds)


def make_cloud(n: int, seed: int = 1, *, colors16: bool = False) -> pa.Table:
    """A lumpy terrain with a dense cluster and exact duplicates: the awkward cases."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 200, n)
    y = rng.uniform(0, 120, n)
    z = 5 * np.sin(x / 17) + 3 * np.cos(y / 11) + rng.normal(0, 0.2, n)
    k = n // 10
    x[:k] = 50 + rng.normal(0, 0.5, k)  # a dense cluster forces deep nodes
    y[:k] = 60 + rng.normal(0, 0.5, k)
    x[k : k + 50] = 10.0  # exact duplicates
    y[k : k + 50] = 10.0
    z[k : k + 50] = 1.0
    x += 650_000.0
    y += 6_860_000.0
    hi = 65535 if colors16 else 255
    dtype = np.uint16 if colors16 else np.uint8
    return pa.table(
        {
            "x": x,
            "y": y,
            "z": z,
            "red": rng.integers(0, hi, n).astype(dtype),
            "green": rng.integers(0, hi, n).astype(dtype),
            "blue": rng.integers(0, hi, n).astype(dtype),
            "intensity": rng.integers(0, 4000, n).astype(np.uint16),
            "classification": rng.integers(0, 10, n).astype(np.uint8),
            "row_id": np.arange(n, dtype=np.int64),
        }
    )


def parquet_source(
    table: pa.Table,
    path: Path,
    *,
    batch_rows: int = 7_000,
    crs: str | None = None,
    bounds: Bounds | None = None,
) -> PointSource:
    """``bounds``: what the 'header' claims (None: unknown, like CSV)."""
    pq.write_table(table, path)
    return partial(_open, path, batch_rows, crs, bounds)


def _many_values(n: int, seed: int = 0) -> dict[str, npt.NDArray[Any]]:
    """More per-point values than WebGL has vertex attribute slots, of every kind."""
    rng = np.random.default_rng(seed)
    values: dict[str, npt.NDArray[Any]] = {
        f"extra_{i}": rng.integers(0, 200, n).astype(np.uint8) for i in range(20)
    }
    values["intensity"] = rng.integers(0, 65535, n).astype(np.uint16)
    values["scan_angle"] = rng.integers(-30_000, 30_000, n).astype(np.int16)
    values["withheld"] = rng.random(n) < 0.3
    # GPS week seconds: float32 keeps ~32 s at 3e8, the table keeps the microsecond.
    values["gps_time"] = 300_000_000.0 + np.arange(n) * 1.000001
    values["row_id"] = (np.int64(1) << 33) + np.arange(n, dtype=np.int64)
    return values


def many_values_content(n: int, seed: int = 0) -> PointContent:
    rng = np.random.default_rng(seed)
    xyz = np.rint(rng.uniform(-20, 20, (n, 3)) / 0.01) * 0.01
    rgb = rng.integers(0, 256, (n, 3)).astype(np.uint8)
    """Grid-exact points with colour and :func:`_many_values`."""
    return PointContent(xyz, rgb, _many_values(n, seed))
