"""Scene test helpers: a ready dataset, a ready scene, waiting for jobs."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import redis

from spatialviz.config import Settings
from spatialviz.models.job import FINAL_STATUSES
from tests.conftest import REDIS_TEST_URL, SERVICES
from tests.dataset.helpers import csv_bytes, upload, wait_for_dataset
from tests.factories import Headers, poll_status


@pytest.fixture(params=["memory", "redis"], name="redis_url")
def redis_url_both_caches(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Overrides the conftest's `redis_url` where imported: the in-process cache and Redis,
    in either test mode (embedded mode skips the Redis case when no Redis runs)."""
    if request.param == "memory":
        yield None
        return
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.ConnectionError:
        client.close()
        if SERVICES:
            raise
        pytest.skip(f"no Redis at {REDIS_TEST_URL} (embedded mode)")
    yield REDIS_TEST_URL
    client.flushdb()
    client.close()


@pytest.fixture(name="settings")
def settings_with_lasting_caches(settings: Settings) -> Settings:
    """Overrides the conftest's `settings` where imported: cached delivery facts and grant
    states outlive the test however busy the machine is. These tests count which requests
    the fast path served; a 5 s grant entry that expired between two requests on a loaded
    machine sent one to the route (a failure seen at load 6); expiry is not their subject.
    (model_copy skips the 5 s upper bound, which guards production configurations.)"""
    return settings.model_copy(
        update={"scene_grant_cache_seconds": 3600.0, "scene_delivery_cache_seconds": 3600.0}
    )


def signature_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["sig"][0]


async def ready_dataset(
    client: httpx.AsyncClient,
    headers: Headers,
    workspace_id: str,
    data: bytes | None = None,
    filename: str = "points.csv",
) -> dict[str, Any]:
    response = await upload(client, headers, workspace_id, data or csv_bytes(300), filename)
    assert response.status_code == 202, response.text
    dataset = await wait_for_dataset(client, headers, response.json()["dataset"]["id"])
    assert dataset["status"] == "ready", dataset
    return dataset


async def wait_for_scene(
    client: httpx.AsyncClient, headers: Headers, scene_id: str, within: float = 90.0
) -> dict[str, Any]:
    url = f"/api/v1/scenes/{scene_id}"
    return await poll_status(client, headers, url, frozenset({"ready", "failed"}), within)


async def wait_for_job(
    client: httpx.AsyncClient, headers: Headers, job_id: str, within: float = 90.0
) -> dict[str, Any]:
    url = f"/api/v1/jobs/{job_id}"
    return await poll_status(client, headers, url, FINAL_STATUSES, within)


async def create_scene(
    client: httpx.AsyncClient,
    headers: Headers,
    dataset_id: str,
    encoding: dict[str, Any] | None = None,
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/scenes", json={"dataset_id": dataset_id, "encoding": encoding}, headers=headers
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def ready_scene(
    client: httpx.AsyncClient,
    headers: Headers,
    workspace_id: str,
    data: bytes | None = None,
    filename: str = "points.csv",
    encoding: dict[str, Any] | None = None,
) -> dict[str, Any]:
    dataset = await ready_dataset(client, headers, workspace_id, data, filename)
    created = await create_scene(client, headers, dataset["id"], encoding)
    scene = await wait_for_scene(client, headers, created["scene"]["id"])
    assert scene["status"] == "ready", scene
    return scene


async def fetch_export(
    client: httpx.AsyncClient, headers: Headers, scene_id: str, fmt: str, within: float = 90.0
) -> httpx.Response:
    """GET export.<fmt> until the job has made it (202 meanwhile), then the 200 response."""
    deadline = time.monotonic() + within
    first = True
    while True:
        response = await client.get(f"/api/v1/scenes/{scene_id}/export.{fmt}", headers=headers)
        if response.status_code == 200:
            return response
        assert response.status_code == 202, response.text
        assert response.headers["location"].startswith("/api/v1/jobs/")
        job = response.json()["job"]
        assert job["status"] not in ("failed", "cancelled"), job
        if first:
            assert job["kind"] == f"scene.export_{fmt}"
            first = False
        if time.monotonic() > deadline:
            raise AssertionError(f"export.{fmt} not made after {within}s: {job}")
        await asyncio.sleep(0.1)


def shift_row_ids(storage_url: str, dataset: dict[str, Any], first: int) -> Path:
    """Renumber a ready dataset's canonical rows from ``first`` on, as if they were the
    last rows of a cloud of more than ``first`` points (a 30M-point file, without tiling
    30M points in a test). Everything else in the file stays as ingest wrote it."""
    root = Path(storage_url.removeprefix("file://"))
    path = root / f"workspaces/{dataset['workspace_id']}/datasets/{dataset['id']}/canonical.parquet"
    table = pq.read_table(path)
    index = table.schema.get_field_index("row_id")
    shifted = pc.add(table.column(index), pa.scalar(first, pa.int64()))
    table = table.set_column(index, table.schema.field(index), shifted)
    pq.write_table(table, path)
    shutil.rmtree(path.with_name(path.name + ".qindex"), ignore_errors=True)  # rebuilt on use
    return path
