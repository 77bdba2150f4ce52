"""Stage 3: index one chunk -- independently of every other chunk, on any machine.

The chunk's octree is built top-down from the chunk's own node. Every node strictly
below the chunk root is final and written here. The chunk root's points are not: the
levels above still have to sample from them, so they are parked in ``roots/<id>.bin``
(with a flag saying which were grid samples, the only candidates for upper levels) for
:func:`spatialviz.tiling.merge.merge`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spatialviz.tiling.nodes import NodeRecord, sort_by_code, write_node
from spatialviz.tiling.octree import iter_nodes, select_levels
from spatialviz.tiling.plan import Plan


@dataclass(frozen=True)
class ChunkResult:
    chunk_id: int
    nodes: tuple[NodeRecord, ...]
    root_points: int


def index_chunk(plan: Plan, chunk_id: int) -> ChunkResult:
    """Build and write the subtree of one chunk. Idempotent: reruns overwrite."""
    chunk = plan.chunks[chunk_id]
    path = plan.chunk_path(chunk_id)
    rec = np.fromfile(path, dtype=plan.record_dtype) if path.exists() else None
    if rec is None or rec.size == 0:
        plan.root_path(chunk_id).write_bytes(b"")
        plan.root_path(chunk_id).with_suffix(".cand").write_bytes(b"")
        return ChunkResult(chunk_id=chunk_id, nodes=(), root_points=0)
    rec, codes = sort_by_code(plan, rec)
    sel = select_levels(
        codes,
        chunk.level,
        leaf_points=plan.options.leaf_points,
        grid_bits=plan.options.grid_bits,
    )
    nodes: list[NodeRecord] = []
    root_idx = np.flatnonzero(sel.level_of == chunk.level)
    rec[root_idx].tofile(plan.root_path(chunk_id))
    sel.sampled_at_start[root_idx].tofile(plan.root_path(chunk_id).with_suffix(".cand"))
    for node in iter_nodes(codes, sel.level_of):
        if node.level == chunk.level:
            continue
        nodes.append(write_node(plan, node.level, node.key, rec[node.index]))
    return ChunkResult(chunk_id=chunk_id, nodes=tuple(nodes), root_points=int(root_idx.size))
