"""Tiling benchmark: this engine vs py3dtiles 12.1.1 on the same LAS files, same run.

    python bench/tiling.py [--sizes 10000000,30000000] [--skip-peer] [--compression]
                           [--generator PATH]

The input clouds come from the product's own generator unless ``--generator`` names the
external benchmark generator (``--generator PATH/gen_pointcloud.py``, for figures
comparable with the peers' references); the report's ``input`` says which (bench/inputs.py).

``--compression`` also tiles each file with meshopt and with draco (same run, same file).
``--attributes all`` tiles with every LAS attribute instead of position + RGB (compare
with PotreeConverter 2.1.1's 37.0 B/point with all attributes, the peer's reference figure).

Generates the benchmark clouds (cached in bench/out/), creates a separate venv for
the peer (bench/out/peer-venv, py3dtiles from PyPI), runs each converter's command
(`spatialviz tile ... --attributes rgb`, `py3dtiles convert`) as a subprocess while
sampling the PSS of its whole process tree, and prints one JSON document:
throughput, peak memory, bytes per point on disk, tile count and ratios (ours / peer).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from inputs import add_generator_argument, describe_input, ensure_cloud

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
PEER_VENV = OUT / "peer-venv"
PEER_VERSION = "12.1.1"


def ensure_peer() -> Path:
    exe = PEER_VENV / "bin" / "py3dtiles"
    marker = PEER_VENV / f"installed-{PEER_VERSION}"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        pip = PEER_VENV / "bin" / "pip"
        # The [las] extra brings laspy: without it py3dtiles refuses .las input.
        subprocess.run([str(pip), "install", "-q", f"py3dtiles[las]=={PEER_VERSION}"], check=True)
        marker.touch()
    return exe


def _tree_memory(proc: psutil.Process) -> int:
    """PSS (proportional: shared pages counted once) of a process and its children."""
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_full_info().pss
        except psutil.Error:
            continue
    return total


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Wall time and peak process-tree PSS of one command."""
    started = time.perf_counter()
    popen = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    proc = psutil.Process(popen.pid)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_memory(proc))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = popen.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if popen.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed:\n{output.decode(errors='replace')[-3000:]}")
    return {"seconds": seconds, "peak_mb": peak / 2**20}


def disk_usage(folder: Path, suffixes: tuple[str, ...]) -> tuple[int, int]:
    """Total bytes of all files, and the number of tile content files."""
    total = 0
    tiles = 0
    for p in folder.rglob("*"):
        if p.is_file():
            total += p.stat().st_size
            tiles += p.suffix in suffixes
    return total, tiles


def run_ours(
    las: Path, n: int, compression: str | None, jobs: int, attributes: str = "rgb"
) -> dict[str, Any]:
    """``spatialviz tile`` as a user runs it (the command, its start-up and its LAS reader
    included), the way the peer is run through its own command. ``compression=None`` gives
    no flag at all: the default a user gets (meshopt)."""
    out = OUT / f"ours-{n}-{compression or 'default'}-{attributes}"
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [
        sys.executable,
        "-m",
        "spatialviz",
        "tile",
        str(las),
        str(out),
        "--jobs",
        str(jobs),
        "--attributes",
        attributes,
        *(["--compression", compression] if compression else []),
    ]
    result = measure(cmd, env)
    size, tiles = disk_usage(out, (".glb",))
    summary = _summary(result, n, size, tiles)
    # The binary chunks alone: the vertex (and property) bytes, without GLB and tileset
    # JSON, which is what the format's alignment floor is about (docs/scenes.md).
    summary["binary_bytes_per_point"] = round(binary_bytes(out) / n, 3)
    return summary


def binary_bytes(folder: Path) -> int:
    """Sum of the BIN chunk lengths of every GLB under ``folder``."""
    from spatialviz.tiling.glb import read_glb

    return sum(len(read_glb(path.read_bytes())[1]) for path in folder.rglob("*.glb"))


def run_peer(las: Path, n: int, jobs: int) -> dict[str, Any]:
    out = OUT / f"py3dtiles-{n}"
    shutil.rmtree(out, ignore_errors=True)
    exe = ensure_peer()
    cmd = [str(exe), "convert", str(las), "--out", str(out), "--jobs", str(jobs), "--overwrite"]
    result = measure(cmd)
    size, tiles = disk_usage(out, (".pnts", ".glb"))
    return _summary(result, n, size, tiles)


def _summary(result: dict[str, float], n: int, size: int, tiles: int) -> dict[str, Any]:
    return {
        "seconds": round(result["seconds"], 2),
        "mpts_per_s": round(n / result["seconds"] / 1e6, 3),
        "peak_mb": round(result["peak_mb"], 1),
        "bytes_per_point": round(size / n, 2),
        "tiles": tiles,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000000,30000000")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--attributes", default="rgb", help="'rgb' (default) or 'all'")
    parser.add_argument(
        "--compression", action="store_true", help="also run with meshopt and with draco"
    )
    add_generator_argument(parser)
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "runs": {}}
    for n in (int(s) for s in args.sizes.split(",")):
        las = ensure_cloud(n, args.generator)
        attrs = args.attributes
        run: dict[str, Any] = {"input": describe_input(n, args.generator)}
        # "ours_default": no flag, what `spatialviz tile` gives a user (meshopt);
        # "ours": uncompressed tiles (--compression none), the like-for-like with the peer.
        run["ours_default"] = run_ours(las, n, None, args.jobs, attrs)
        run["ours"] = run_ours(las, n, "none", args.jobs, attrs)
        if args.compression:
            for mode in ("meshopt", "draco"):
                run[f"ours_{mode}"] = run_ours(las, n, mode, args.jobs, attrs)
        if not args.skip_peer:
            peer = run_peer(las, n, args.jobs)
            run["py3dtiles"] = peer
            ours = run["ours"]
            run["ratios"] = {
                "throughput": round(ours["mpts_per_s"] / peer["mpts_per_s"], 2),
                "peak_memory": round(ours["peak_mb"] / peer["peak_mb"], 2),
                "bytes_per_point": round(ours["bytes_per_point"] / peer["bytes_per_point"], 2),
            }
            default = run["ours_default"]
            run["ratios"]["throughput_default"] = round(
                default["mpts_per_s"] / peer["mpts_per_s"], 2
            )
            run["ratios"]["bytes_per_point_default"] = round(
                default["bytes_per_point"] / peer["bytes_per_point"], 2
            )
            for mode in ("meshopt", "draco") if args.compression else ():
                mine = run[f"ours_{mode}"]
                run["ratios"][f"throughput_{mode}"] = round(
                    mine["mpts_per_s"] / peer["mpts_per_s"], 2
                )
        report["runs"][str(n)] = run
        print(json.dumps({str(n): run}), file=sys.stderr, flush=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
