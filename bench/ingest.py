"""Ingest benchmark: our reader + canonical writer vs the floor, same data, same run.

Floor = the least work that produces a Parquet file from the same input:
  LAS: laspy reads the whole file into numpy, pyarrow writes it as Parquet;
  CSV: pyarrow.csv.read_csv (multi-threaded) + pyarrow writes Parquet.
With --repeat N, floor and ours alternate N times and the best time is kept (the machine
is shared). Each case runs in a fresh process whose RSS the parent samples (psutil, every 20 ms), so
peak memory is per case. Prints one JSON document; ratio = our seconds / floor seconds.

    PYTHONPATH=src python bench/ingest.py [--points 10000000] [--compression zstd lz4]
                                          [--generator PATH]

The LAS input comes from the product's own generator unless ``--generator`` names another
(bench/inputs.py); the report's ``input`` says which.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from inputs import add_generator_argument, describe_input, ensure_cloud

OUT = Path(__file__).resolve().parent / "out"
CSV_COLUMNS = ("x", "y", "z", "intensity", "classification", "red", "green", "blue", "gps_time")


def ensure_csv(las_path: Path) -> Path:
    path = las_path.with_suffix(".csv")
    if path.exists():
        return path
    import laspy
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    tmp = path.with_suffix(".csv.partial")
    schema = pa.schema(
        [(c, pa.float64() if c in ("x", "y", "z", "gps_time") else pa.int64())
         for c in CSV_COLUMNS]
    )  # fmt: skip
    with laspy.open(str(las_path)) as src, pacsv.CSVWriter(tmp, schema) as writer:
        for chunk in src.chunk_iterator(1_000_000):
            cols = {c: np.asarray(chunk[c]) for c in CSV_COLUMNS}
            cols = {
                c: np.round(v, 3) if c in ("x", "y", "z") else v.astype(np.int64)
                if v.dtype.kind in "ui" else v
                for c, v in cols.items()
            }  # fmt: skip
            writer.write_table(pa.table(cols, schema=schema))
    tmp.rename(path)
    return path


# ---- cases (run in a child process) -------------------------------------------------


def ours(src: str, dest: str, compression: str) -> int:
    from spatialviz.formats import ReaderLimits, open_reader, write_canonical

    reader = open_reader(Path(src), ReaderLimits())
    try:
        result = write_canonical(reader, Path(dest), compression=compression)  # type: ignore[arg-type]
    finally:
        reader.close()
    return result.rows


def floor_las(src: str, dest: str, compression: str) -> int:
    import laspy
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    las = laspy.read(src)
    cols: dict[str, Any] = {"x": np.asarray(las.x), "y": np.asarray(las.y), "z": np.asarray(las.z)}
    for name in las.point_format.dimension_names:
        if name not in ("X", "Y", "Z"):
            cols[name] = np.asarray(las[name])
    table = pa.table(cols)
    pq.write_table(table, dest, compression=compression)
    return int(table.num_rows)


def floor_csv(src: str, dest: str, compression: str) -> int:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pacsv.read_csv(src)
    pq.write_table(table, dest, compression=compression)
    return int(table.num_rows)


CASES = {"ours": ours, "floor_las": floor_las, "floor_csv": floor_csv}


def _child(case: str, src: str, dest: str, compression: str, queue: Any) -> None:
    start = time.perf_counter()
    rows = CASES[case](src, dest, compression)
    queue.put((rows, time.perf_counter() - start))


def measure(case: str, src: Path, compression: str) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    dest = OUT / f"bench_{case}_{src.suffix.lstrip('.')}.parquet"
    proc = ctx.Process(target=_child, args=(case, str(src), str(dest), compression, queue))
    proc.start()
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.is_alive():
        try:
            peak = max(peak, ps.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(f"{case} failed with exit code {proc.exitcode}")
    rows, seconds = queue.get()
    size = dest.stat().st_size
    dest.unlink()
    return {
        "case": case,
        "input": src.name,
        "compression": compression,
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds),
        "peak_rss_mib": round(peak / 2**20, 1),
        "output_mib": round(size / 2**20, 1),
    }


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    best = dict(min(runs, key=lambda r: r["seconds"]))
    best["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
    best["runs_seconds"] = [r["seconds"] for r in runs]
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--compression", nargs="+", default=["zstd", "lz4"])
    parser.add_argument("--skip-csv", action="store_true")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per case, interleaved; best time is kept"
    )
    add_generator_argument(parser)
    args = parser.parse_args()
    las = ensure_cloud(args.points, args.generator)
    inputs = [(las, "floor_las")]
    if not args.skip_csv:
        inputs.append((ensure_csv(las), "floor_csv"))
    results: list[dict[str, Any]] = []
    for src, floor_case in inputs:
        for compression in args.compression:
            floors, mines = [], []
            for _ in range(args.repeat):  # interleaved, so load from elsewhere hits both
                floors.append(measure(floor_case, src, compression))
                mines.append(measure("ours", src, compression))
            floor, mine = _best(floors), _best(mines)
            mine["ratio_to_floor"] = round(mine["seconds"] / floor["seconds"], 3)
            mine["memory_ratio_to_floor"] = round(mine["peak_rss_mib"] / floor["peak_rss_mib"], 3)
            results += [floor, mine]
    print(
        json.dumps(
            {
                "benchmark": "ingest",
                "points": args.points,
                "input": describe_input(args.points, args.generator),
                "cpus": psutil.cpu_count(),
                "python": sys.version.split()[0],
                "load_average_1m": round(psutil.getloadavg()[0], 2),
                "repeat": args.repeat,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
