"""Spatial queries through the scene index vs. a brute-force numpy scan of the same file.

Prints JSON: build time of the index, and per query kind the median time through the index
and through a full scan (the peer: read x/y/z of every row group, test every point), with
their ratio. Same data, same machine, same run. The index side of ``box`` also computes
per-column stats and 100 samples while the scan side only counts, so that ratio understates
the index; on small files (< ~1M rows) a plain scan is as fast or faster.

    PYTHONPATH=src python -m bench.scene_query --rows 2000000
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from spatialviz.spatialindex.index import IndexSettings, SpatialIndex


def _write(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    with pq.ParquetWriter(path, _schema()) as writer:
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            xyz = rng.uniform([0, 0, 0], [1000, 1000, 50], size=(n, 3))
            writer.write_table(
                pa.table(
                    {
                        "x": xyz[:, 0],
                        "y": xyz[:, 1],
                        "z": xyz[:, 2],
                        "intensity": rng.integers(0, 65535, n).astype(np.uint16),
                        "row_id": np.arange(start, start + n, dtype=np.int64),
                    },
                    schema=_schema(),
                )
            )


def _schema() -> pa.Schema:
    return pa.schema(
        [("x", pa.float64()), ("y", pa.float64()), ("z", pa.float64()),
         ("intensity", pa.uint16()), ("row_id", pa.int64())]
    )  # fmt: skip


def _scan_box(path: Path, lo: np.ndarray, hi: np.ndarray) -> int:
    count = 0
    pf = pq.ParquetFile(path)
    for rg in range(pf.num_row_groups):
        t = pf.read_row_group(rg, columns=["x", "y", "z"])
        xyz = np.stack([t[c].to_numpy() for c in "xyz"], axis=1)
        count += int(np.all((xyz >= lo) & (xyz <= hi), axis=1).sum())
    return count


def _scan_knn(path: Path, p: np.ndarray, k: int) -> float:
    best = np.empty(0)
    pf = pq.ParquetFile(path)
    for rg in range(pf.num_row_groups):
        t = pf.read_row_group(rg, columns=["x", "y", "z"])
        xyz = np.stack([t[c].to_numpy() for c in "xyz"], axis=1)
        best = np.sort(np.concatenate([best, np.linalg.norm(xyz - p, axis=1)]))[:k]
    return float(best[-1])


def _timed_knn(index: SpatialIndex, point: np.ndarray) -> float:
    t0 = time.perf_counter()
    index.knn(point.tolist(), 100)
    return time.perf_counter() - t0


def _median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "canonical.parquet"
        _write(path, args.rows)
        t0 = time.perf_counter()
        index = SpatialIndex.open(path, settings=IndexSettings())
        build = time.perf_counter() - t0
        lo, hi = np.array([400.0, 400.0, 0.0]), np.array([450.0, 450.0, 50.0])
        points = np.random.default_rng(1).uniform(
            [0, 0, 0], [1000, 1000, 50], size=(args.repeat, 3)
        )
        p = points[0]
        assert index.box(lo.tolist(), hi.tolist(), samples=0).count == _scan_box(path, lo, hi)
        results = {
            "rows": args.rows,
            "index_build_s": round(build, 3),
            "box": {
                "index_s": _median(
                    lambda: index.box(lo.tolist(), hi.tolist(), samples=100), args.repeat
                ),
                "scan_s": _median(lambda: _scan_box(path, lo, hi), args.repeat),
            },
            "knn_k100": {
                "index_s": statistics.median(_timed_knn(index, q) for q in points),
                "scan_s": _median(lambda: _scan_knn(path, p, 100), args.repeat),
            },
        }
        for key in ("box", "knn_k100"):
            r = results[key]
            assert isinstance(r, dict)
            r["speedup"] = round(r["scan_s"] / r["index_s"], 1)
        print(json.dumps(results))


if __name__ == "__main__":
    main()
