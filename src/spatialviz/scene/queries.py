"""Running a scene query off the event loop, over the dataset's spatial index.

Coordinates are the dataset's own canonical ``x, y, z`` (the frame of ``tileset.json``
for scenes without a chart box; see docs/scenes.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio

from spatialviz.config import Settings
from spatialviz.scene.exceptions import QueryLimitExceeded, RowNotFoundError
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
