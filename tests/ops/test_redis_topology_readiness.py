"""/readyz on every Redis topology the app speaks (Cluster, Sentinel): ready when it
answers, degraded, never unready, when it cannot be reached. What happens when part of a
deployment stops is in test_redis_cluster_readiness.py and test_redis_sentinel_readiness.py."""

from __future__ import annotations

import pytest

from spatialviz.config import Settings
from tests.conftest import SERVICES
from tests.ops.readiness import app_client

pytestmark = pytest.mark.skipif(not SERVICES, reason="Redis deployments (services mode)")


@pytest.mark.parametrize("topology", ["cluster", "sentinel"])
async def test_a_reachable_deployment_is_ready(
    settings: Settings, topology: str, request: pytest.FixtureRequest
) -> None:
    url: str = request.getfixturevalue(f"redis_{topology}_url")
    async for client in app_client(settings.model_copy(update={"redis_url": url})):
        response = await client.get("/readyz")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "ok"
        assert response.json()["checks"]["redis"] == "ok"


@pytest.mark.parametrize(
    "nowhere", ["redis+cluster://127.0.0.1:1", "redis+sentinel://127.0.0.1:1/svtest"]
)
async def test_an_unreachable_deployment_is_degraded_not_unready(
    settings: Settings, nowhere: str
) -> None:
    async for client in app_client(settings.model_copy(update={"redis_url": nowhere})):
        response = await client.get("/readyz")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "degraded"
        assert response.json()["degraded"] == ["redis"]
        assert (await client.get("/livez")).status_code == 200
