"""Stage 2: stream the source once more and append each point to its chunk's file.

Chunk files are raw little-endian records (``Plan.record_dtype``): the cheapest format to
append to and to load back with one ``np.fromfile``. Memory is one batch at a time.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from spatialviz.tiling import morton
from spatialviz.tiling.plan import (
    COUNT_LEVEL,
    CancelFn,
    Plan,
    ProgressFn,
    TilingCancelled,
    _batches,
    columns_of,
)


def chunk_lookup(plan: Plan) -> npt.NDArray[np.int32]:
    """Counting-grid cell -> chunk id."""
    lut = np.full(8**COUNT_LEVEL, -1, dtype=np.int32)
    for chunk in plan.chunks:
        shift = 3 * (COUNT_LEVEL - chunk.level)
        lut[chunk.key << shift : (chunk.key + 1) << shift] = chunk.id
    return lut


def to_records(
    plan: Plan,
    batch: pa.RecordBatch,
    xyz: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]],
) -> npt.NDArray[np.void]:
    """A batch in the plan's record layout."""
    rec = np.empty(batch.num_rows, dtype=plan.record_dtype)
    rec["x"], rec["y"], rec["z"] = xyz
    names = batch.schema.names
    for name, _dt in plan.columns:
        if name in names:
            rec[name] = batch.column(name).to_numpy(zero_copy_only=False)
        else:
            rec[name] = 0  # a column missing from one batch: keep the layout
    return rec


def distribute(
    plan: Plan,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> list[int]:
    """Write every point to its chunk file; return the points written per chunk."""
    lut = chunk_lookup(plan)
    origin = np.asarray(plan.origin)
    written = [0] * len(plan.chunks)
    done = 0
    with ExitStack() as stack:
        files: dict[int, BinaryIO] = {}
        for batch in _batches(plan.source):
            if cancel is not None and cancel():
                raise TilingCancelled
            if batch.num_rows == 0:
                continue
            x, y, z = columns_of(batch)
            cells = morton.cells_at(x, y, z, origin, plan.size, COUNT_LEVEL)
            ids = lut[cells.astype(np.intp)]
            # uint16 keys take numpy's O(n) radix sort path.
            key = ids.astype(np.uint16) if len(plan.chunks) < 65536 else ids
            order = np.argsort(key, kind="stable")
            rec = to_records(plan, batch, (x, y, z))[order]
            sorted_ids = ids[order]
            bounds = np.flatnonzero(np.diff(sorted_ids)) + 1
            starts = np.concatenate([[0], bounds])
            ends = np.concatenate([bounds, [len(sorted_ids)]])
            for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
                cid = int(sorted_ids[s])
                if cid not in files:
                    files[cid] = stack.enter_context(open(plan.chunk_path(cid), "ab"))
                files[cid].write(rec[s:e].tobytes())
                written[cid] += e - s
            done += batch.num_rows
            if progress is not None:
                progress("distribute", min(1.0, done / plan.total_points))
    return written
