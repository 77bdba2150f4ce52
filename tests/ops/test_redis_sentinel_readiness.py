"""/readyz behind Sentinel: Redis degrades features, it never takes pods out of the load
balancer, whether the sentinels answer, have gone away, or were never reachable.

The "sentinel stopped" case uses its own deployment (ports base + 10..12), so the session's
shared one stays whole for the other tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from spatialviz.config import Settings
from tests.conftest import SERVICES
from tests.factories import bearer, create_api_key, register_and_sign_in
from tests.ops.readiness import app_client
from tests.redis_cluster import stop_cluster
from tests.redis_sentinel import BASE_PORT, SentinelDeployment, start_sentinel, stop_sentinel

pytestmark = pytest.mark.skipif(not SERVICES, reason="a Sentinel deployment (services mode)")


@pytest.fixture
def own_deployment(tmp_path: Path) -> Iterator[SentinelDeployment]:
    deployment = start_sentinel(tmp_path / "sentinel", BASE_PORT + 10)
    try:
        yield deployment
    finally:
        stop_sentinel(deployment)


async def test_stopped_sentinel_is_degraded_not_unready(
    settings: Settings, client: httpx.AsyncClient, own_deployment: SentinelDeployment
) -> None:
    user, owner = await register_and_sign_in(client)
    key = await create_api_key(client, owner, user["personal_workspace_id"])
    behind = settings.model_copy(update={"redis_url": own_deployment.url})
    async for api in app_client(behind):
        assert (await api.get("/readyz")).json()["checks"]["redis"] == "ok"
        # The only sentinel goes away: no new connection can find the master, and no
        # failover would happen, although the master itself still runs.
        stop_cluster([own_deployment.sentinel])
        assert own_deployment.master.poll() is None
        response = await api.get("/readyz")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "degraded"
        assert response.json()["checks"]["redis"] == "MasterNotFoundError"
        # An API key is checked in the database; its rate limit fails open: still served.
        me = await api.get("/api/v1/me", headers=bearer(key["key"]))
        assert me.status_code == 200, me.text
