"""Read routing to a real PostgreSQL streaming replica (two private clusters, pg_basebackup):
safe reads go to the replica, a caller who just wrote reads its write from the primary, a
replica that stops costs no failed request, and /readyz calls it degraded, not down."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from spatialviz.app import create_app
from spatialviz.config import ConfigError, Settings
from spatialviz.kit.migrate import upgrade
from tests.conftest import SERVICES
from tests.factories import register_and_sign_in
from tests.kit.pg_cluster import PG_BIN, ClusterError, PrivateCluster

pytestmark = pytest.mark.skipif(not SERVICES, reason="a streaming replica: services mode")


@pytest.fixture(scope="module")
def clusters(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[PrivateCluster, PrivateCluster]]:
    if not (PG_BIN / "pg_basebackup").exists():
        pytest.fail(f"pg_basebackup not found in {PG_BIN}")
    folder = tmp_path_factory.mktemp("replication")
    primary, replica = PrivateCluster(folder, "primary"), PrivateCluster(folder, "replica")
    primary.init_primary()
    primary.start()
    upgrade(primary.url())
    replica.init_replica_of(primary)
    replica.start()
    try:
        yield primary, replica
    finally:
        for cluster in (replica, primary):
            with contextlib.suppress(ClusterError):  # already stopped by a test
                cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def replicated_app(
    settings: Settings, clusters: tuple[PrivateCluster, PrivateCluster]
) -> AsyncIterator[FastAPI]:
    primary, replica = clusters
    routed = settings.model_copy(
        update={"database_url": primary.url(), "database_replica_url": replica.url()}
    )
    application = create_app(routed)
    async with application.router.lifespan_context(application):
        yield application


def _count_replica_statements(app: FastAPI) -> list[str]:
    seen: list[str] = []
    engine = app.state.resources.replica.replica_engine.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return seen


async def _on_replica(replica: PrivateCluster, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(replica.url("postgresql"), timeout=5)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def test_reads_go_to_the_replica_and_writers_read_their_writes(
    replicated_app: FastAPI, clusters: tuple[PrivateCluster, PrivateCluster]
) -> None:
    _, replica = clusters
    replica_statements = _count_replica_statements(replicated_app)
    transport = httpx.ASGITransport(app=replicated_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        _, writer_headers = await register_and_sign_in(client)
        reader, reader_headers = await register_and_sign_in(client)

        # The writer creates a workspace and lists at once: from the primary, so it is there
        # whatever the replica's lag.
        before = len(replica_statements)
        created = await client.post(
            "/api/v1/workspaces", json={"name": "Fresh"}, headers=writer_headers
        )
        assert created.status_code == 201, created.text
        listed = await client.get("/api/v1/workspaces", headers=writer_headers)
        assert created.json()["id"] in {w["id"] for w in listed.json()["items"]}
        assert len(replica_statements) == before

        # Another caller, who wrote nothing lately, reads from the replica. Wait until the
        # replica has replayed the reader's sign-in rows (streaming: usually at once).
        # (Its sign-in carried no credential yet, so its bearer token is not sticky.)
        await _wait_for_replay(replica, reader["id"])
        me = await client.get("/api/v1/me", headers=reader_headers)
        assert me.status_code == 200, me.text
        assert len(replica_statements) > before


async def _wait_for_replay(replica: PrivateCluster, user_id: str) -> None:
    for _ in range(600):
        found = await _on_replica(replica, "SELECT count(*) FROM users WHERE id = $1", user_id)
        if found:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the replica never replayed the user's row")


async def test_a_stopped_replica_costs_no_failed_request(
    replicated_app: FastAPI, clusters: tuple[PrivateCluster, PrivateCluster]
) -> None:
    _, replica = clusters
    transport = httpx.ASGITransport(app=replicated_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        user, headers = await register_and_sign_in(client)
        await _wait_for_replay(replica, user["id"])
        replica.stop()
        try:
            for _ in range(5):
                me = await client.get("/api/v1/me", headers=headers)
                assert me.status_code == 200, me.text
            ready = await client.get("/readyz")
        finally:
            replica.start()
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "degraded"
    assert "replica" in ready.json()["degraded"]


def test_a_replica_that_cannot_work_is_refused(settings: Settings, tmp_path: Path) -> None:
    same = settings.model_copy(update={"database_replica_url": settings.database_url})
    with pytest.raises(ConfigError, match="SPATIALVIZ_DATABASE_REPLICA_URL"):
        same.validate_for_startup()
    sqlite = settings.model_copy(
        update={
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
            "database_replica_url": "postgresql+asyncpg://postgres@127.0.0.1:1/x",
        }
    )
    with pytest.raises(ConfigError, match="needs PostgreSQL"):
        sqlite.validate_for_startup()
