"""Running a scene query off the event loop, over the dataset's spatial index.

Coordinates are the dataset's own canonical ``x, y, z`` (the frame of ``tileset.json``
for scenes without a chart box; see docs/scenes.md)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import anyio

from spatialviz.config import Settings
from spatialviz.kit.storage import BlobStorage
from spatialviz.models.dataset import Dataset
from spatialviz.scene.exceptions import DatasetNotReady, QueryLimitExceeded, RowNotFoundError
from spatialviz.scene.schemas import BoxQuery, KnnQuery, PickQuery, SphereQuery
from spatialviz.spatialindex.index import (
    QueryLimitError,
    QueryLimits,
    RowNotFound,
    SpatialIndex,
    pick_row,
)


def limits_for(settings: Settings) -> QueryLimits:
    return QueryLimits(max_scan_rows=settings.scene_query_max_scan_rows)


def run_sync(
    canonical: Path, query: PickQuery | BoxQuery | SphereQuery | KnnQuery, limits: QueryLimits
) -> dict[str, Any]:
    if isinstance(query, PickQuery):
        return {"kind": "pick", "frame": "dataset", "row": pick_row(canonical, query.row, limits)}
    index = SpatialIndex.open(canonical, limits=limits)
    if isinstance(query, BoxQuery):
        result = index.box(query.min, query.max, samples=query.samples).to_dict()
    elif isinstance(query, SphereQuery):
        result = index.sphere(query.center, query.radius, samples=query.samples).to_dict()
    else:
        result = index.knn(query.point, query.k).to_dict()
    return {"kind": query.kind, "frame": "dataset", **result}


async def run(
    canonical: Path, query: PickQuery | BoxQuery | SphereQuery | KnnQuery, settings: Settings
) -> dict[str, Any]:
    try:
        return await anyio.to_thread.run_sync(run_sync, canonical, query, limits_for(settings))
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
