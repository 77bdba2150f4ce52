"""The ingest job: a dataset's uploaded file → canonical Parquet + schema + stats.

A thin adapter: it takes IDs and keys from the job, reads with ``spatialviz.formats`` and
writes the canonical file as a staged output (published only if the whole job succeeds).
The dataset row is updated by :func:`spatialviz.dataset.service.apply_ingest_outcome` in the
same transaction that finishes the job.
"""

from __future__ import annotations

from pathlib import Path

from spatialviz.dataset.records import IngestResult
from spatialviz.dataset.service import INGEST_KIND, apply_ingest_outcome
from spatialviz.formats import open_reader
from spatialviz.formats.base import FormatError, PositionOverride, ReaderLimits
from spatialviz.formats.canonical import IngestCancelledError, write_canonical
from spatialviz.job.context import JobCancelled, JobContext, JobError
from spatialviz.job.registry import JobResult, job_kind


def reader_limits(ctx: JobContext) -> ReaderLimits:
    s = ctx.settings
    return ReaderLimits(
        max_points=s.ingest_max_points,
        batch_rows=s.ingest_batch_rows,
        max_decompression_ratio=s.ingest_max_decompression_ratio,
    )


def _local_source(ctx: JobContext, key: str, filename: str) -> Path:
    """The upload as a local file named with the client's extension (the readers check that
    content and extension agree). Local storage is linked, not copied."""
    suffix = Path(filename).suffix.lower()[:16]
    dest = ctx.scratch / f"source{suffix}"
    local = ctx.storage.local_path(key)
    if local is not None and local.is_file():
        dest.symlink_to(local)
    else:
        ctx.storage.get_file(key, dest)
    return dest


@job_kind(INGEST_KIND, queue="heavy", max_attempts=2, on_finish=apply_ingest_outcome)
def ingest_dataset(ctx: JobContext) -> JobResult:
    source_key = str(ctx.params["source_key"])
    canonical_key = str(ctx.params["canonical_key"])
    columns = ctx.params.get("columns")
    override = PositionOverride(**columns) if columns else None
    ctx.progress(0.0, "reading")
    source = _local_source(ctx, source_key, str(ctx.params.get("filename") or ""))
    out = ctx.scratch / "canonical.parquet"

    def on_progress(rows: int, declared: int | None) -> None:
        fraction = min(rows / declared, 1.0) * 0.95 if declared else 0.5
        ctx.progress(fraction, f"{rows:,} rows read")

    def cancelled() -> bool:
        try:
            ctx.check_cancelled()
        except JobCancelled:
            return True
        return False

    try:
        reader = open_reader(source, reader_limits(ctx), columns=override)
        try:
            result = write_canonical(reader, out, progress=on_progress, cancel=cancelled)
        finally:
            reader.close()
    except IngestCancelledError:
        ctx.check_cancelled()
        raise
    except FormatError as exc:
        # The file will never read: drop it now so a refused upload leaves nothing behind.
        ctx.storage.delete(source_key)
        raise JobError(exc.code, str(exc)) from exc
    ctx.progress(0.97, "storing")
    writer = ctx.output(canonical_key)
    try:
        with out.open("rb") as fh:
            while chunk := fh.read(8 << 20):
                writer.write(chunk)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    payload = IngestResult(**result.to_json(), canonical_key=canonical_key)
    payload.pop("path", None)
    ctx.progress(1.0, "done")
    return payload
