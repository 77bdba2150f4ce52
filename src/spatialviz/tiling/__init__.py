"""The level-of-detail engine: point sources in, OGC 3D Tiles 1.1 out.

Pure: imports nothing from the web, database or job layers. The stages are plain functions
with picklable arguments so that the jobs layer can spread them over machines::

    p = plan(source, options, workdir, output_dir)      # counting pass + chunk plan
    distribute(p)                                       # points -> per-chunk files
    results = [index_chunk(p, c.id) for c in p.chunks]  # independent, parallel
    summary = merge(p, results)                         # upper levels + tileset.json

:func:`tile` runs all four locally with a process pool and publishes atomically.
"""

from spatialviz.tiling.distribute import distribute
from spatialviz.tiling.index import ChunkResult, index_chunk
from spatialviz.tiling.merge import TilesetSummary, merge
from spatialviz.tiling.options import TilingOptions, parse_size
from spatialviz.tiling.plan import Chunk, Plan, PointSource, TilingCancelled, TilingError, plan
from spatialviz.tiling.runner import tile

__all__ = [
    "Chunk",
    "ChunkResult",
    "Plan",
    "PointSource",
    "TilesetSummary",
    "TilingCancelled",
    "TilingError",
    "TilingOptions",
    "distribute",
    "index_chunk",
    "merge",
    "parse_size",
    "plan",
    "tile",
]
