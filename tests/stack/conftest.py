"""tests/stack: the whole topology of `make stack`, started once for the session in a
private state folder, tested from outside through nginx, and removed at the end even when a
test failed. Run by `make test-stack` (SPATIALVIZ_TEST_STACK=1, root); skipped otherwise, so
`make test` stays fast."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from spatialviz.demo.generate import write_lidar_las
from spatialviz.stack import netns
from spatialviz.stack.layout import REPO
from tests.stack.client import Stack

ENABLED = os.environ.get("SPATIALVIZ_TEST_STACK") == "1"
POINTS = 1_000_000
PASSWORD = "correct horse battery staple 42"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "stack: needs the whole `make stack` topology (root)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        in_here = Path(str(item.fspath)).is_relative_to(here)
        if in_here and item.get_closest_marker("stack") and not ENABLED:
            item.add_marker(pytest.mark.skip(reason="make test-stack runs these (root)"))


def stack_command(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPATIALVIZ_STACK_DIR": str(state)}
    # The stack's API servers take the caller's SPATIALVIZ_* settings: a test run's own
    # (test database, Redis db) must not leak into them.
    for name in [n for n in env if n.startswith("SPATIALVIZ_") and "STACK" not in n]:
        del env[name]
    return subprocess.run(
        [sys.executable, "-m", "spatialviz.stack", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="session")
def stack_state() -> Iterator[Path]:
    """Not under pytest's shared /tmp/pytest-of-<user>: other pytest runs there prune and
    re-permission old folders, which PostgreSQL (running as postgres) must keep reaching."""
    state = REPO / "var" / "stack-test"
    if not netns.existing():  # never under a stack that runs (the stack fixture refuses it)
        shutil.rmtree(state, ignore_errors=True)
    yield state
    if not netns.existing():
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="session")
def stack(stack_state: Path) -> Iterator[Stack]:
    if os.geteuid() != 0:
        pytest.fail("tests/stack need root (network namespaces)")
    if netns.existing() and os.environ.get("CI") == "true":
        # A stack left by an interrupted run on this CI machine: nobody is using it.
        print(stack_command(stack_state, "down").stdout)
    if netns.existing():
        pytest.fail("a stack is already up (make stack-down first): tests/stack start their own")
    try:
        started = stack_command(stack_state, "up", "--demo-points", "0")
        print(started.stdout)
        assert started.returncode == 0, started.stdout + started.stderr
        yield Stack(stack_state)
    finally:
        stopped = stack_command(stack_state, "down")
        print(stopped.stdout, stopped.stderr)


@dataclass(frozen=True)
class Tenant:
    email: str
    workspace_id: str
    headers: dict[str, str]


@dataclass(frozen=True)
class ReadyScene:
    id: str
    tileset_url: str
    dataset_id: str

    @property
    def sig(self) -> str:
        return self.tileset_url.split("?sig=", 1)[1]


def new_tenant(client: httpx.Client) -> Tenant:
    email = f"stack-{uuid.uuid4().hex[:10]}@example.com"
    registered = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    token = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return Tenant(email, str(registered.json()["personal_workspace_id"]), headers)


def wait_for(client: httpx.Client, tenant: Tenant, url: str, within: float) -> dict[str, Any]:
    """GET ``url`` until its status is final (a functional bound, not a benchmark)."""
    deadline = time.monotonic() + within
    while True:
        response = client.get(url, headers=tenant.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in {"ready", "failed"}:
            return body
        assert time.monotonic() < deadline, f"{url} still {body['status']} after {within} s"
        time.sleep(0.5)


@pytest.fixture(scope="session")
def las_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1,000,000-point LiDAR scan from the product's own generator."""
    return write_lidar_las(tmp_path_factory.mktemp("las") / "town.las", POINTS)


@pytest.fixture(scope="session")
def tenant(stack: Stack) -> Tenant:
    with stack.client() as client:
        return new_tenant(client)


@pytest.fixture(scope="session")
def scene(stack: Stack, tenant: Tenant, las_file: Path) -> ReadyScene:
    """The LAS uploaded through nginx, ingested and tiled by the Celery workers."""
    with stack.client(timeout=300) as client, las_file.open("rb") as body:
        uploaded = client.post(
            "/api/v1/datasets",
            params={"workspace_id": tenant.workspace_id, "filename": las_file.name},
            content=body,
            headers={**tenant.headers, "Content-Type": "application/octet-stream"},
        )
        assert uploaded.status_code == 202, uploaded.text
        dataset_id = str(uploaded.json()["dataset"]["id"])
        dataset = wait_for(client, tenant, f"/api/v1/datasets/{dataset_id}", within=600)
        assert dataset["status"] == "ready", dataset
        created = client.post(
            "/api/v1/scenes", json={"dataset_id": dataset_id}, headers=tenant.headers
        )
        assert created.status_code == 202, created.text
        scene_id = str(created.json()["scene"]["id"])
        ready = wait_for(client, tenant, f"/api/v1/scenes/{scene_id}", within=900)
        assert ready["status"] == "ready", ready
        return ReadyScene(scene_id, str(ready["tileset_url"]), dataset_id)
