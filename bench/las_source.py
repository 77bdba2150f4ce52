"""A minimal laspy PointReader for the benchmark until formats.open_reader lands on main."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import laspy
import numpy as np
import pyarrow as pa

from spatialviz.formats.base import PointReader, SourceInfo


class LasPoints:
    def __init__(self, path: Path, batch_rows: int) -> None:
        self._path = path
        self._batch_rows = batch_rows
        with laspy.open(path) as f:
            h = f.header
            crs = h.parse_crs()
            self.info = SourceInfo(
                format="las",
                declared_rows=int(h.point_count),
                crs_wkt=crs.to_wkt() if crs is not None else None,
                bounds=(tuple(map(float, h.mins)), tuple(map(float, h.maxs))),  # type: ignore[arg-type]
            )

    def iter_batches(self) -> Iterator[pa.RecordBatch]:
        start = 0
        with laspy.open(self._path) as f:
            for pts in f.chunk_iterator(self._batch_rows):
                n = len(pts)
                cols = {
                    "x": np.asarray(pts.x, dtype=np.float64),
                    "y": np.asarray(pts.y, dtype=np.float64),
                    "z": np.asarray(pts.z, dtype=np.float64),
                    "red": np.asarray(pts.red),
                    "green": np.asarray(pts.green),
                    "blue": np.asarray(pts.blue),
                    "intensity": np.asarray(pts.intensity),
                    "classification": np.asarray(pts.classification, dtype=np.uint8),
                    "row_id": np.arange(start, start + n, dtype=np.int64),
                }
                start += n
                yield pa.RecordBatch.from_pydict(cols)

    def close(self) -> None:
        pass


def _open(path: Path, batch_rows: int) -> PointReader:
    return LasPoints(path, batch_rows)


def las_source(path: Path, batch_rows: int = 1_000_000) -> partial[PointReader]:
    return partial(_open, path, batch_rows)
