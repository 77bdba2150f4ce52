"""The metrics behind the dashboard's tiling, cache and database pool panels really move:
points tiled are counted by the process that tiles them, a cached delivery read counts a
hit, and the pool gauges follow a connection being checked out and returned."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from spatialviz.config import Settings
from spatialviz.kit.db import create_engine
from spatialviz.kit.pool_metrics import DatabasePoolCollector
from spatialviz.scene import delivery
from spatialviz.scene.service import TILE_KIND
from tests.dataset.helpers import csv_bytes
from tests.factories import register_and_sign_in
from tests.scene_api.helpers import (  # noqa: F401 (fixture)
    ready_scene,
    settings_with_lasting_caches,
)

POINTS = 300


def _sample(registry: CollectorRegistry, name: str, labels: dict[str, str]) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_tiling_counts_every_point_it_tiles(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    if settings.uses_celery:
        pytest.skip("with Celery the workers count (their own /metrics), not the API")
    registry = app.state.resources.registry
    before = _sample(registry, "spatialviz_tiling_points_total", {"kind": TILE_KIND})
    user, headers = await register_and_sign_in(client)
    await ready_scene(client, headers, user["personal_workspace_id"], csv_bytes(POINTS))
    after = _sample(registry, "spatialviz_tiling_points_total", {"kind": TILE_KIND})
    assert after - before == POINTS


async def test_a_cached_delivery_read_counts_a_hit(app: FastAPI, client: httpx.AsyncClient) -> None:
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    # The first signed read caches the delivery facts (if the bearer reads did not).
    assert (await client.get(scene["tileset_url"])).status_code == 200
    registry = app.state.resources.registry
    cache = {"cache": delivery.CACHE_NAMESPACE}

    def lookups() -> tuple[float, float]:
        return (
            _sample(registry, "spatialviz_cache_lookups_total", {**cache, "result": "hit"}),
            _sample(registry, "spatialviz_cache_lookups_total", {**cache, "result": "miss"}),
        )

    hits, misses = lookups()
    assert (await client.get(scene["tileset_url"])).status_code == 200
    assert lookups() == (hits + 1, misses)
    # Revoking the facts (what every access change does) makes the next read a miss.
    await app.state.resources.cache.delete(delivery.delivery_key(scene["id"]))
    assert (await client.get(scene["tileset_url"])).status_code == 200
    assert lookups()[1] > misses


async def test_the_pool_gauges_follow_a_checked_out_connection(settings: Settings) -> None:
    # An engine of the test's own: the app's background tasks (job supervisor, sweeps)
    # check connections out whenever they like, which would make the counts race.
    engine = create_engine(settings.database_url)
    registry = CollectorRegistry()
    registry.register(DatabasePoolCollector(lambda: {"primary": engine}))
    primary = {"database": "primary"}
    try:
        assert _sample(registry, "spatialviz_db_pool_checked_out", primary) == 0
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            assert _sample(registry, "spatialviz_db_pool_checked_out", primary) == 1
            assert _sample(registry, "spatialviz_db_pool_idle", primary) == 0
        assert _sample(registry, "spatialviz_db_pool_checked_out", primary) == 0
        assert _sample(registry, "spatialviz_db_pool_idle", primary) == 1
        assert isinstance(engine.pool, QueuePool)
        assert _sample(registry, "spatialviz_db_pool_size", primary) == engine.pool.size()
    finally:
        await engine.dispose()


async def test_the_app_reports_its_primary_pool(app: FastAPI, client: httpx.AsyncClient) -> None:
    scrape = await client.get("/metrics")
    assert scrape.status_code == 200
    size = app.state.resources.engine.pool.size()
    assert f'spatialviz_db_pool_size{{database="primary"}} {size}.0' in scrape.text
