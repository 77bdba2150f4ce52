"""Fault drills: each injects a real fault (a stopped PostgreSQL or Redis, a killed server,
a disconnecting or hostile client) into the API running in its own process. Services mode
only: they need PostgreSQL and Redis tools, and CI's services run is where they belong."""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from spatialviz.kit.migrate import upgrade
from tests.conftest import SERVICES, TEST_KIND_MODULE, TEST_SECRET
from tests.drills.processes import PrivateRedis, wait_until
from tests.kit.pg_cluster import PrivateCluster

_services_only = pytest.mark.skipif(
    not SERVICES,
    reason="fault drills run in services mode (SPATIALVIZ_TEST_SERVICES=1): they start "
    "private PostgreSQL and Redis servers and kill real processes",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/drills/" in str(item.path):
            item.add_marker(_services_only)


@pytest.fixture
def private_postgres() -> Iterator[PrivateCluster]:
    pg = PrivateCluster(Path(tempfile.mkdtemp(prefix="sv-drill-pg-")), "data")
    pg.init_primary()
    pg.start()
    upgrade(pg.url())
    yield pg
    pg.destroy()


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    redis = PrivateRedis()
    redis.start()
    yield redis
    redis.stop()


def api_env(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The API's settings for a drill: its own var/ and storage, quiet logs."""
    env = {
        "SPATIALVIZ_ENV": "test",
        "SPATIALVIZ_VAR_DIR": str(tmp_path / "var"),
        "SPATIALVIZ_DATABASE_URL": database_url,
        "SPATIALVIZ_STORAGE_URL": f"file://{tmp_path / 'storage'}",
        "SPATIALVIZ_SECRET_KEY": TEST_SECRET,
        "SPATIALVIZ_LOG_LEVEL": "WARNING",
        "SPATIALVIZ_RATE_LIMIT_AUTH": "1000/minute",
        "SPATIALVIZ_RATE_LIMIT_API": "100000/minute",
        "SPATIALVIZ_JOBS_EMBEDDED_WORKERS": "1",
        "SPATIALVIZ_JOBS_KIND_MODULES": json.dumps([TEST_KIND_MODULE]),
    }
    env.update({f"SPATIALVIZ_{k.upper()}": v for k, v in extra.items()})
    return env


def sign_up(client: httpx.Client) -> tuple[dict[str, str], str]:
    """A new user's Authorization headers and personal workspace id."""
    email = f"drill-{uuid.uuid4().hex[:12]}@example.com"
    password = "correct horse battery staple 42"
    created = client.post("/api/v1/auth/register", json={"email": email, "password": password})
    assert created.status_code == 201, created.text
    token = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert token.status_code == 200, token.text
    user: dict[str, Any] = created.json()
    return {"Authorization": f"Bearer {token.json()['access_token']}"}, user[
        "personal_workspace_id"
    ]


def figure(name: str, value: object) -> None:
    """A measured figure, printed for docs/operations.md (run with -s to see them)."""
    print(f"\nDRILL {name} = {value}")


def serving_again_after(
    client: httpx.Client, headers: dict[str, str], dependency: str, name: str
) -> float:
    """Seconds from now (the dependency just returned) until the API answers an
    authenticated list with 200 again; printed as the figure ``name``."""
    back = time.monotonic()
    wait_until(
        lambda: client.get("/api/v1/datasets", headers=headers).status_code == 200 or None,
        60,
        f"the API serving again after {dependency}'s return",
    )
    recovery = round(time.monotonic() - back, 2)
    figure(name, recovery)
    return recovery
