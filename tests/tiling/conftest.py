from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

from spatialviz.tiling import TilesetSummary, TilingOptions, tile
from tests.tiling.sources import make_cloud, parquet_source

N_POINTS = 60_000


@dataclass
class Tiled:
    table: pa.Table
    out: Path
    summary: TilesetSummary
    stages: list[tuple[str, float]]


@pytest.fixture(scope="session")
def tiled(tmp_path_factory: pytest.TempPathFactory) -> Tiled:
    """One multi-chunk, multi-level tileset with every attribute, built by the pool."""
    base = tmp_path_factory.mktemp("tiled")
    table = make_cloud(N_POINTS)
    source = parquet_source(table, base / "in.parquet", crs="EPSG:2154")
    options = TilingOptions(
        jobs=2, leaf_points=2_000, max_chunk_points=12_000, levels_per_tileset=2
    )
    stages: list[tuple[str, float]] = []
    summary = tile(
        source, base / "out", options, progress=lambda s, f: stages.append((s, f))
    )
    return Tiled(table=table, out=base / "out", summary=summary, stages=stages)
