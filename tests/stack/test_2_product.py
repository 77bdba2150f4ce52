"""The product path through nginx over TLS 1.3: register, upload a 1,000,000-point LAS, tile
it on the Celery workers, fetch the tileset and every tile, pick a point; reads served by
the replica, and a writer reading its own writes at once."""

from __future__ import annotations

import time

import pytest

from tests.stack.client import Stack, tile_uris
from tests.stack.conftest import ReadyScene, Tenant, new_tenant

pytestmark = [pytest.mark.stack, pytest.mark.timeout(1800)]


def test_upload_tile_fetch_every_tile_and_pick(
    stack: Stack, tenant: Tenant, scene: ReadyScene
) -> None:
    with stack.client() as client:
        tileset = client.get(scene.tileset_url)
        assert tileset.status_code == 200, tileset.text
        base = f"/api/v1/scenes/{scene.id}"
        pending: list[str] = tile_uris(tileset.json()["root"])
        tiles = 0
        while pending:
            uri = pending.pop()
            response = client.get(f"{base}/{uri}", params={"sig": scene.sig})
            assert response.status_code == 200, (uri, response.text)
            if uri.endswith(".json"):  # an external tileset: its tiles too
                pending += tile_uris(response.json()["root"])
                continue
            assert response.content[:4] == b"glTF", uri  # sent by nginx from storage
            tiles += 1
        assert tiles > 10
        picked = client.post(
            f"{base}/query", json={"kind": "pick", "row": 123_456}, headers=tenant.headers
        )
        assert picked.status_code == 200, picked.text
        assert picked.json()  # the point's attributes
        print(f"STACK fetched {tiles} tiles of a 1,000,000-point scene through nginx")


def test_a_writer_reads_its_own_writes_at_once(stack: Stack) -> None:
    with stack.client() as client:
        writer = new_tenant(client)
        for index in range(10):
            created = client.post(
                "/api/v1/workspaces", json={"name": f"rw-{index}"}, headers=writer.headers
            )
            assert created.status_code == 201, created.text
            read = client.get(f"/api/v1/workspaces/{created.json()['id']}", headers=writer.headers)
            assert read.status_code == 200, read.text


def _replica_transactions(stack: Stack) -> int:
    value = "SELECT xact_commit FROM pg_stat_database WHERE datname = 'spatialviz'"
    return int(stack.sql("replica", value))


def test_reads_are_served_by_the_replica(stack: Stack, tenant: Tenant, scene: ReadyScene) -> None:
    assert stack.sql("replica", "SELECT pg_is_in_recovery()") == "t"
    before = _replica_transactions(stack)
    reads = 50
    with stack.client() as client:
        for _ in range(reads):
            response = client.get(f"/api/v1/scenes/{scene.id}", headers=tenant.headers)
            assert response.status_code == 200, response.text
    # Backends publish their counters when idle, within about 10 s: a bounded wait.
    deadline = time.monotonic() + 60
    while _replica_transactions(stack) - before < reads:
        assert time.monotonic() < deadline, (before, _replica_transactions(stack))
        time.sleep(1)
