"""Scene jobs: tiling (canonical Parquet → encoding transform → 3D Tiles) and exports.

Thin adapters: they take keys from the job's params, run the pure engines and write their
files as staged outputs (published only when the job succeeds). The scene row changes in
:func:`spatialviz.scene.service.apply_tiling_outcome`, in the transaction that finishes
the tiling job.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import structlog

from spatialviz.job.context import JobCancelled, JobContext, JobError
from spatialviz.job.registry import JobKind, JobResult, job_kind, register_job_kind
from spatialviz.scene.exports import EXPORT_KINDS
from spatialviz.scene.sceneframe import source_info
from spatialviz.scene.service import TILE_KIND, apply_tiling_outcome
from spatialviz.spatialindex.index import SpatialIndex
from spatialviz.styling.encoding import ResolvedEncoding
from spatialviz.styling.transform import tile_columns, transform_parquet
from spatialviz.tiling import (
    ChunkResult,
    Plan,
    TilingCancelledError,
    TilingError,
    TilingOptions,
    index_chunk,
    merge,
    plan,
)
from spatialviz.tiling.glb import PointContent, encode_glb
from spatialviz.writers.tileset_archive import write_3tz
from spatialviz.writers.usdz import ExportError, GridSampler, write_usdz

log = structlog.get_logger(__name__)

# The tiling job's progress bar: reading and distributing the points (prepare) to 50 %,
# indexing the chunks (the map items) to 85 %, merging and publishing (reduce) the rest.
_PHASES = (0.5, 0.85)
# The planner's stages within the prepare phase: (start, end).
_PREPARE_STAGES = {"scan": (0.0, 0.6), "distribute": (0.6, 1.0)}


class TransformedReader:
    """A :class:`~spatialviz.formats.base.PointReader` over a canonical file with a scene
    encoding applied: the canonical point convention the tiling engine consumes."""

    def __init__(self, path: str, encoding: ResolvedEncoding) -> None:
        self.path = path
        self.encoding = encoding
        self.info = source_info(Path(path), self.encoding)

    def iter_batches(self) -> Iterator[pa.RecordBatch]:
        return transform_parquet(self.path, self.encoding)

    def close(self) -> None:
        pass


def open_transformed(path: str, encoding: ResolvedEncoding) -> TransformedReader:
    """Module-level, so ``functools.partial(open_transformed, ...)`` pickles to workers."""
    return TransformedReader(path, encoding)


def local_canonical(ctx: JobContext, key: str) -> Path:
    local = ctx.storage.local_path(key)
    if local is not None and local.is_file():
        return local
    dest = ctx.scratch / "canonical.parquet"
    ctx.storage.get_file(key, dest)
    return dest


def _cancelled(ctx: JobContext) -> bool:
    try:
        ctx.check_cancelled()
    except JobCancelled:
        return True
    return False


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def tree_version(root: Path) -> str:
    """A content hash over every file's path and bytes: the tileset's version."""
    digest = hashlib.sha256()
    for path in _files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()[:24]


def _put_output(ctx: JobContext, key: str, path: Path) -> None:
    ctx.storage.put_file(f"{ctx.staging_prefix}/{key}", path)


def _warm_query_index(canonical: Path, resolved: dict[str, Any]) -> None:
    """Build the dataset's spatial index next to its canonical file (local storage), over
    the scene's position columns when they are not x, y, z (a chart's axes)."""
    enc = ResolvedEncoding.model_validate(resolved)
    columns = (enc.x, enc.y, enc.z)
    try:
        SpatialIndex.open(canonical)
        if columns != ("x", "y", "z"):
            SpatialIndex.open(canonical, columns=columns)
    except Exception as exc:  # the query endpoint builds it on demand otherwise
        log.warning("query_index_failed", file_path=str(canonical), error=repr(exc))


# --- tiling: prepare (counts + chunk files) -> index each chunk -> merge and publish -----
# The stages share chunk files through ``tiling_work_dir``; chunks are independent map
# items, so embedded mode indexes them on the process pool and Celery on any worker (a chord).


def _work_root(ctx: JobContext) -> Path:
    base = ctx.settings.tiling_work_dir or ctx.settings.var_dir / "tiling"
    return Path(base).resolve() / str(ctx.job_id)


def _work_dir(ctx: JobContext) -> Path:
    return _work_root(ctx) / f"attempt-{ctx.attempt}"


def _load_plan(work: Path) -> Plan:
    with (work / "plan.pickle").open("rb") as fh:
        plan: Plan = pickle.load(fh)  # noqa: S301 - written by this job's own prepare stage
    return plan


def _tiling_options(ctx: JobContext, encoding: ResolvedEncoding) -> TilingOptions:
    return TilingOptions(
        # The columns the encoding needs; the rest go to sidecars, which the viewer fetches
        # only to colour by one (docs/scenes.md, "Tile content").
        tile_properties=tile_columns(encoding),
        jobs=1,
        memory_budget=ctx.settings.scene_tiling_memory_budget,
        max_chunk_points=ctx.settings.scene_tiling_max_chunk_points,
        compression=ctx.settings.scene_tiling_compression,
    )


def _prepare_tiling(ctx: JobContext) -> list[int]:
    canonical = local_canonical(ctx, str(ctx.params["canonical_key"]))
    encoding = ResolvedEncoding.model_validate(ctx.params["resolved"])
    source = functools.partial(open_transformed, str(canonical), encoding)
    shutil.rmtree(_work_root(ctx), ignore_errors=True)  # earlier attempts' leftovers
    work = _work_dir(ctx)
    (work / "chunks").mkdir(parents=True)

    def on_progress(stage: str, fraction: float) -> None:
        lo, hi = _PREPARE_STAGES.get(stage, (0.0, 1.0))
        ctx.progress(lo + (hi - lo) * fraction, stage)

    try:
        the_plan = plan(
            source,
            _tiling_options(ctx, encoding),
            str(work / "chunks"),
            str(work / "out"),
            on_progress,
            lambda: _cancelled(ctx),
        )
    except TilingCancelledError:
        ctx.check_cancelled()
        raise
    except TilingError as exc:
        raise JobError("tiling_failed", str(exc)) from exc
    with (work / "plan.pickle").open("wb") as fh:
        pickle.dump(the_plan, fh)
    return [chunk.id for chunk in the_plan.chunks]


def _index_tiling_chunk(ctx: JobContext, chunk_id: Any) -> str:
    """Idempotent: a part run again (its worker was lost, or a late duplicate of it runs
    beside the new one) rewrites the same result file, swapped in whole."""
    work = _work_dir(ctx)
    the_plan = _load_plan(work)
    result = index_chunk(the_plan, int(chunk_id))
    # The chunk's points are the tiling work (each point is in exactly one chunk), counted
    # here where the worker did it, so rate() is points tiled per second.
    ctx.count_points(the_plan.chunks[int(chunk_id)].count)
    path = work / f"result-{int(chunk_id)}.pickle"
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    with partial.open("wb") as fh:
        pickle.dump(result, fh)
    os.replace(partial, path)
    return path.name


def _merge_tiling(ctx: JobContext, result_names: list[Any]) -> JobResult:
    work = _work_dir(ctx)
    the_plan = _load_plan(work)
    results: list[ChunkResult] = []
    for name in result_names:
        with (work / str(name)).open("rb") as fh:
            results.append(pickle.load(fh))  # noqa: S301 - this job's own map outputs
    try:
        summary = merge(the_plan, results)
    except TilingError as exc:
        raise JobError("tiling_failed", str(exc)) from exc
    out = Path(the_plan.output_dir)
    ctx.progress(0.4, "publishing")  # of the reduce phase
    version = tree_version(out)
    target = f"{ctx.params['tilesets_prefix']}/{version}"
    for path in _files(out):
        _put_output(ctx, f"{target}/{path.relative_to(out).as_posix()}", path)
    canonical_key = str(ctx.params["canonical_key"])
    local = ctx.storage.local_path(canonical_key)
    if local is not None:
        ctx.progress(0.8, "indexing")
        _warm_query_index(local, dict(ctx.params["resolved"]))
    shutil.rmtree(_work_root(ctx), ignore_errors=True)
    return {
        "version": version,
        "prefix": target,
        "points": summary.points,
        "tiles": summary.tiles,
        "bytes": summary.bytes,
        "max_level": summary.max_level,
        "chunks": len(results),
    }


register_job_kind(
    JobKind(
        TILE_KIND,
        queue="heavy",
        prepare=_prepare_tiling,
        map=_index_tiling_chunk,
        reduce=_merge_tiling,
        max_attempts=2,
        on_finish=apply_tiling_outcome,
        phases=_PHASES,
    )
)


# --- exports ---------------------------------------------------------------------------


def _export_inputs(ctx: JobContext) -> tuple[Path, ResolvedEncoding, str]:
    canonical = local_canonical(ctx, str(ctx.params["canonical_key"]))
    enc = ResolvedEncoding.model_validate(ctx.params["resolved"])
    return canonical, enc, str(ctx.params["export_key"])


@job_kind(EXPORT_KINDS["usdz"], queue="heavy", max_attempts=2)
def export_usdz(ctx: JobContext) -> JobResult:
    canonical, enc, key = _export_inputs(ctx)
    ctx.progress(0.1, "sampling")
    out = ctx.scratch / "scene.usdz"
    try:
        report = write_usdz(
            transform_parquet(canonical, enc),
            out,
            budget_points=int(
                ctx.params.get("budget_points") or ctx.settings.scene_export_budget_points
            ),
        )
    except ExportError as exc:
        raise JobError("export_failed", str(exc)) from exc
    _put_output(ctx, key, out)
    ctx.progress(1.0, "done")
    return {"key": key, "points": report.points, "bytes": report.bytes}


@job_kind(EXPORT_KINDS["glb"], queue="heavy", max_attempts=2)
def export_glb(ctx: JobContext) -> JobResult:
    canonical, enc, key = _export_inputs(ctx)
    sampler = GridSampler(
        int(ctx.params.get("budget_points") or ctx.settings.scene_export_budget_points)
    )
    ctx.progress(0.1, "sampling")
    for batch in transform_parquet(canonical, enc):
        xyz = np.stack(
            [np.asarray(batch.column(c).to_numpy(zero_copy_only=False)) for c in "xyz"], axis=1
        ).astype(np.float64)
        rgb = np.stack(
            [
                np.asarray(batch.column(c).to_numpy(zero_copy_only=False))
                for c in ("red", "green", "blue")
            ],
            axis=1,
        ).astype(np.uint8)
        sampler.add(xyz, rgb)
        ctx.check_cancelled()
    if len(sampler.xyz) == 0:
        raise JobError("export_failed", "there are no points to export")
    # Centred on the bounds: a standalone model has no tileset transform to carry offsets.
    center = (sampler.xyz.min(axis=0) + sampler.xyz.max(axis=0)) / 2
    data = encode_glb(
        PointContent(positions=sampler.xyz - center, colors=sampler.rgb, properties={})
    )
    out = ctx.scratch / "scene.glb"
    out.write_bytes(data)
    _put_output(ctx, key, out)
    ctx.progress(1.0, "done")
    return {"key": key, "points": len(sampler.xyz), "bytes": len(data), "center": center.tolist()}


@job_kind(EXPORT_KINDS["3tz"], queue="heavy", max_attempts=2)
def export_3tz(ctx: JobContext) -> JobResult:
    prefix = str(ctx.params["tileset_prefix"])
    key = str(ctx.params["export_key"])
    local = ctx.storage.local_path(f"{prefix}/tileset.json")
    if local is not None and local.is_file():
        tileset_dir = local.parent
    else:
        tileset_dir = ctx.scratch / "tileset"
        for blob in ctx.storage.list_keys(prefix):
            dest = tileset_dir / blob[len(prefix) + 1 :]
            dest.parent.mkdir(parents=True, exist_ok=True)
            ctx.storage.get_file(blob, dest)
            ctx.check_cancelled()
    out = ctx.scratch / "scene.3tz"
    files = write_3tz(tileset_dir, out)
    _put_output(ctx, key, out)
    ctx.progress(1.0, "done")
    return {"key": key, "files": files, "bytes": out.stat().st_size}
