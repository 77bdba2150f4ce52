"""The point clouds the benchmarks read, made by a generator named on the command line.

Default: the product's own LiDAR-town generator (``spatialviz.demo.generate``), so anyone who
clones the repository can run every benchmark. ``--generator PATH`` runs an external script
instead, called as ``PATH OUT.las N`` (the shared benchmark generator the peers' reference
figures were measured on takes exactly that form). Every report names the input it used, so
figures from different generators are never compared by mistake.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
PRODUCT_GENERATOR = "spatialviz.demo.generate"


def add_generator_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--generator",
        type=Path,
        default=None,
        help="a script called as `SCRIPT OUT.las N` (default: the product's demo generator)",
    )


def ensure_cloud(points: int, generator: Path | None) -> Path:
    """A LAS file of ``points`` points from ``generator``, cached in bench/out/ under a name
    that says which generator made it."""
    tag = "demo" if generator is None else f"ext-{_short_digest(generator)}"
    path = OUT / f"cloud-{tag}-{points}.las"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.las")
    if generator is None:
        from spatialviz.demo.generate import write_lidar_las

        write_lidar_las(partial, points)
    else:
        subprocess.run([sys.executable, str(generator), str(partial), str(points)], check=True)
    partial.replace(path)
    return path


def describe_input(points: int, generator: Path | None) -> dict[str, Any]:
    """What a report says about its input."""
    if generator is None:
        return {"generator": PRODUCT_GENERATOR, "points": points}
    return {"generator": str(generator), "sha256": _digest(generator), "points": points}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _short_digest(path: Path) -> str:
    return _digest(path)[:10]
