"""Stage 4: the levels above the chunks, then the tileset JSON.

Only the chunk roots' grid samples compete for the upper levels, so this step's memory
is bounded by (number of chunks) x (points per node), not by the input size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spatialviz.tiling import morton
from spatialviz.tiling.index import ChunkResult
from spatialviz.tiling.nodes import NodeRecord, write_node
from spatialviz.tiling.octree import iter_nodes, select_levels
from spatialviz.tiling.plan import Plan
from spatialviz.tiling.tileset import write_tilesets


@dataclass(frozen=True)
class TilesetSummary:
    points: int
    tiles: int
    json_files: int
    bytes: int
    max_level: int


def merge(plan: Plan, results: Sequence[ChunkResult]) -> TilesetSummary:
    """Sample the upper levels from the chunk roots, write their tiles and the JSON."""
    recs = []
    cands = []
    levels = []
    for chunk in plan.chunks:
        path = plan.root_path(chunk.id)
        rec = np.fromfile(path, dtype=plan.record_dtype)
        cand = np.fromfile(path.with_suffix(".cand"), dtype=np.bool_)
        recs.append(rec)
        cands.append(cand)
        levels.append(np.full(rec.size, chunk.level, dtype=np.int8))
    rec = np.concatenate(recs)
    cand = np.concatenate(cands)
    chunk_level = np.concatenate(levels)
    xyz = np.column_stack([rec["x"], rec["y"], rec["z"]])
    codes = morton.codes_for(xyz, np.asarray(plan.origin), plan.size)
    del xyz
    order = np.argsort(codes)
    rec, codes, cand, chunk_level = rec[order], codes[order], cand[order], chunk_level[order]
    level_of = chunk_level.copy()
    cidx = np.flatnonzero(cand)
    sel = select_levels(
        codes[cidx],
        0,
        leaf_points=plan.options.leaf_points,
        grid_bits=plan.options.grid_bits,
        forced_level=chunk_level[cidx],
        allow_leaves=False,
    )
    level_of[cidx] = sel.level_of
    # A retried chunk task may report twice; its files were overwritten, count it once.
    latest = {r.chunk_id: r for r in results}
    missing = {c.id for c in plan.chunks} - set(latest)
    if missing:
        raise ValueError(f"chunks not indexed yet: {sorted(missing)}")
    records: list[NodeRecord] = [n for r in latest.values() for n in r.nodes]
    for node in iter_nodes(codes, level_of):
        records.append(write_node(plan, node.level, node.key, rec[node.index]))
    json_files = write_tilesets(plan, records)
    return TilesetSummary(
        points=sum(r.count for r in records),
        tiles=len(records),
        json_files=json_files,
        bytes=sum(r.bytes for r in records),
        max_level=max(r.level for r in records),
    )
