"""Box queries in a georeferenced scene's frame vs. the same box in the dataset's frame.

A cloud in UTM zone 10N metres; the middle half of its extent as a box. The dataset-frame
query tests x/y/z directly; the scene-frame query maps the box (east-north-up metres) to a
search box in UTM, then maps every candidate row (through the lookup grid, and pyproj for
rows within 5 cm of a face; ``--exact``: all through pyproj) and tests it. Prints JSON:
rows, candidate rows read, the count each returns and their median times, same run.

    PYTHONPATH=src python -m bench.scene_frame_query --rows 2000000
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

from spatialviz.geodesy import LocalFrame, source_crs
from spatialviz.scene.sceneframe import SceneFrame
from spatialviz.spatialindex.index import XYZ, QueryLimits, SpatialIndex
from spatialviz.styling.encoding import validate_encoding

SCHEMA = [{"name": c, "type": "double"} for c in "xyz"]


def _write(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    xyz = rng.uniform([493_000, 4_877_000, 100], [494_000, 4_878_000, 150], size=(rows, 3))
    table = pa.table({"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]})
    table = table.append_column("row_id", pa.array(np.arange(rows, dtype=np.int64)))
    pq.write_table(table, path, row_group_size=1_000_000)


def _median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--exact", action="store_true", help="every candidate through pyproj")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "canonical.parquet"
        _write(path, args.rows)
        limits = QueryLimits(max_scan_rows=args.rows)
        index = SpatialIndex.open(path, limits=limits)
        source = source_crs(None, 32610, {})
        assert source is not None
        frame = LocalFrame.at(source, 493_500.0, 4_877_500.0, 125.0)
        assert frame is not None
        if not args.exact:  # as the server keeps it: with the tiler's verified lookup grid
            frame = frame.with_grid((493_000, 4_877_000, 100), (494_000, 4_878_000, 150), args.rows)
        enc = validate_encoding(None, SCHEMA, {c: {"min": 0, "max": 1} for c in "xyz"})
        scene = SceneFrame("georeferenced", XYZ, enc, frame)
        # Off the Morton grid's cell boundaries, so neither side gains from alignment.
        lo, hi = np.array([-237.0, -241.0, -11.0]), np.array([243.0, 252.0, 13.0])
        search_lo, search_hi = scene.search_box(lo, hi)
        utm_lo, utm_hi = (493_263.0, 4_877_259.0, 114.0), (493_743.0, 4_877_752.0, 138.0)
        results: dict[str, object] = {}

        def in_scene() -> None:
            r = index.where(search_lo, search_hi, scene.selector(lo, hi), samples=100)
            results["scene"] = (r.count, r.scanned_rows)

        def in_dataset() -> None:
            r = index.box(utm_lo, utm_hi, samples=100)
            results["dataset"] = (r.count, r.scanned_rows)

        scene_s = _median(in_scene, args.repeat)
        dataset_s = _median(in_dataset, args.repeat)
        print(
            json.dumps(
                {
                    "rows": args.rows,
                    "scene_frame": {"count_scanned": results["scene"], "median_s": scene_s},
                    "dataset_frame": {
                        "count_scanned": results["dataset"],
                        "median_s": dataset_s,
                    },
                    "ratio": scene_s / dataset_s,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
