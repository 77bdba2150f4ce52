"""Stage 2 (read side): a chunk's points, gathered from the bucket files.

:func:`spatialviz.tiling.plan.plan` already wrote every point, during its counting pass,
to the raw-record file of its level-3 bucket. A chunk at level <= 3 is the union of its
buckets; a chunk deeper than that (a dense spot) is the part of one bucket inside its
node, read in bounded slices so that memory follows the chunk, not the bucket.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from spatialviz.tiling import morton
from spatialviz.tiling.plan import BUCKET_LEVEL, Chunk, Plan

SLICE_RECORDS = 2_000_000


def load_chunk(plan: Plan, chunk: Chunk) -> npt.NDArray[np.void]:
    """All records of one chunk, in bucket-file order."""
    dtype = plan.record_dtype
    if chunk.level <= BUCKET_LEVEL:
        shift = 3 * (BUCKET_LEVEL - chunk.level)
        paths = [
            p
            for b in range(chunk.key << shift, (chunk.key + 1) << shift)
            if (p := plan.bucket_path(b)).exists()
        ]
        sizes = [p.stat().st_size // dtype.itemsize for p in paths]
        rec = np.empty(sum(sizes), dtype=dtype)
        offset = 0
        for path, size in zip(paths, sizes, strict=True):
            # Read straight into the preallocated array: no per-bucket temporary.
            with open(path, "rb") as f:
                f.readinto(rec[offset : offset + size].view(np.uint8).data)
            offset += size
        return rec
    bucket = chunk.key >> (3 * (chunk.level - BUCKET_LEVEL))
    origin = np.asarray(plan.origin)
    parts = []
    with open(plan.bucket_path(bucket), "rb") as f:
        while True:
            part = np.fromfile(f, dtype=dtype, count=SLICE_RECORDS)
            if part.size == 0:
                break
            cells = morton.cells_at(part["x"], part["y"], part["z"], origin, plan.size, chunk.level)
            parts.append(part[cells == np.uint64(chunk.key)])
    return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)
