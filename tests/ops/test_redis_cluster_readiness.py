"""/readyz on a Redis Cluster: Redis degrades features, it never takes pods out of the
load balancer, whether the cluster is whole, has lost a master, or cannot be reached.

The "lost a master" case uses its own 3-master cluster (ports base + 20..22), so the
session's shared cluster stays whole for the other tests.
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
from tests.redis_cluster import BASE_PORT, start_cluster, stop_cluster

pytestmark = pytest.mark.skipif(not SERVICES, reason="a Redis Cluster (services mode)")


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[tuple[str, list[int], list[object]]]:
    base = BASE_PORT + 20
    url, processes = start_cluster(tmp_path / "cluster", base)
    try:
        yield url, [base, base + 1, base + 2], list(processes)
    finally:
        stop_cluster(processes)


async def test_cluster_that_lost_a_master_is_degraded_not_unready(
    settings: Settings,
    client: httpx.AsyncClient,
    own_cluster: tuple[str, list[int], list[object]],
) -> None:
    url, _ports, processes = own_cluster
    user, owner = await register_and_sign_in(client)
    key = await create_api_key(client, owner, user["personal_workspace_id"])
    on_cluster = settings.model_copy(update={"redis_url": url})
    async for api in app_client(on_cluster):
        assert (await api.get("/readyz")).json()["checks"]["redis"] == "ok"
        # The third master (not among the URL's start-up nodes) goes away for good.
        lost = processes[2]
        lost.kill()  # type: ignore[attr-defined]
        lost.wait()  # type: ignore[attr-defined]
        response = await api.get("/readyz")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "degraded"
        assert response.json()["checks"]["redis"] != "ok"
        # An API key is checked in the database; its rate limit fails open: still served.
        me = await api.get("/api/v1/me", headers=bearer(key["key"]))
        assert me.status_code == 200, me.text
