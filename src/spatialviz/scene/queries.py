"""Running a scene query off the event loop, over the dataset's spatial index.

Coordinates are the dataset's own canonical ``x, y, z``, or, for a box with ``frame:
"scene"``, the scene's frame (what the viewer draws: east-north-up metres for a
georeferenced scene, chart-box coordinates for a chart; :mod:`spatialviz.scene.sceneframe`
and docs/scenes.md)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import numpy.typing as npt

from spatialviz.config import Settings
from spatialviz.kit.storage import BlobStorage
from spatialviz.models.dataset import Dataset
from spatialviz.scene.exceptions import DatasetNotReady, QueryLimitExceeded, RowNotFoundError
from spatialviz.scene.sceneframe import scene_frame
from spatialviz.scene.schemas import BoxQuery, KnnQuery, PickQuery, SphereQuery
from spatialviz.spatialindex.index import (
    QueryLimitError,
    QueryLimits,
    RowNotFound,
    SpatialIndex,
    pick_row,
)
from spatialviz.styling.encoding import ResolvedEncoding


def limits_for(settings: Settings) -> QueryLimits:
    return QueryLimits(max_scan_rows=settings.scene_query_max_scan_rows)


Query = PickQuery | BoxQuery | SphereQuery | KnnQuery


def scene_box(
    canonical: Path, enc: ResolvedEncoding, query: BoxQuery, limits: QueryLimits
) -> dict[str, Any]:
    """A box in the scene's frame: searched through a conservative box in the index's
    columns, each candidate row mapped into the scene's frame and tested exactly."""
    lo, hi = _corners(query)
    frame = scene_frame(canonical, enc)
    index = SpatialIndex.open(canonical, limits=limits, columns=frame.columns)
    search_lo, search_hi = frame.search_box(lo, hi)
    result = index.where(
        search_lo,
        search_hi,
        frame.selector(lo, hi),
        samples=query.samples,
        columns=frame.extra_columns,
    )
    return {"kind": "box", "frame": "scene", "scene_frame": frame.kind, **result.to_dict()}


def _corners(query: BoxQuery) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    lo = np.asarray(query.min, dtype=np.float64)
    hi = np.asarray(query.max, dtype=np.float64)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise QueryLimitError("min", "expected three finite numbers [x, y, z]")
    if np.any(lo > hi):
        raise QueryLimitError("max", "every max must be >= the matching min")
    return lo, hi


def run_sync(
    canonical: Path, query: Query, limits: QueryLimits, enc: ResolvedEncoding | None = None
) -> dict[str, Any]:
    if isinstance(query, PickQuery):
        return {"kind": "pick", "frame": "dataset", "row": pick_row(canonical, query.row, limits)}
    if isinstance(query, BoxQuery) and query.frame == "scene":
        assert enc is not None
        return scene_box(canonical, enc, query, limits)
    index = SpatialIndex.open(canonical, limits=limits)
    if isinstance(query, BoxQuery):
        result = index.box(query.min, query.max, samples=query.samples).to_dict()
    elif isinstance(query, SphereQuery):
        result = index.sphere(query.center, query.radius, samples=query.samples).to_dict()
    else:
        result = index.knn(query.point, query.k).to_dict()
    return {"kind": query.kind, "frame": "dataset", **result}


async def run(
    canonical: Path, query: Query, settings: Settings, enc: ResolvedEncoding | None = None
) -> dict[str, Any]:
    try:
        return await anyio.to_thread.run_sync(run_sync, canonical, query, limits_for(settings), enc)
    except QueryLimitError as exc:
        raise QueryLimitExceeded(exc.field, exc.message) from None
    except RowNotFound:
        raise RowNotFoundError(f"No row {getattr(query, 'row', '?')} in this dataset.") from None


async def canonical_path(settings: Settings, storage: BlobStorage, dataset: Dataset) -> Path:
    """The dataset's canonical Parquet as a local file: in place with local storage, else a
    copy cached under ``var/cache`` (its spatial index is built and kept next to it)."""
    if dataset.canonical_key is None:
        raise DatasetNotReady("The dataset has no canonical file.")
    local = storage.local_path(dataset.canonical_key)
    if local is not None and local.is_file():
        return local
    cached = settings.var_dir / "cache" / "datasets" / str(dataset.id) / "canonical.parquet"
    if not cached.is_file():
        cached.parent.mkdir(parents=True, exist_ok=True)
        part = cached.with_name(f"canonical.{uuid.uuid4().hex[:8]}.part")
        await anyio.to_thread.run_sync(storage.get_file, dataset.canonical_key, part)
        part.replace(cached)
    return cached
