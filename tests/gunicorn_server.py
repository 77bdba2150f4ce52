"""A `spatialviz serve --workers N` server (Gunicorn) started as a user would, for the tests
that drive one (tests/test_server.py, tests/test_server_metrics.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil

from spatialviz.config import Settings
from tests.conftest import TEST_SECRET, _free_port
from tests.processes import live_children

SPATIALVIZ = [sys.executable, "-m", "spatialviz"]


def server_env(settings: Settings) -> dict[str, str]:
    env = {
        **os.environ,
        "SPATIALVIZ_ENV": "test",
        "SPATIALVIZ_VAR_DIR": str(settings.var_dir),
        "SPATIALVIZ_DATABASE_URL": settings.database_url,
        "SPATIALVIZ_STORAGE_URL": settings.storage_url,
        "SPATIALVIZ_SECRET_KEY": TEST_SECRET,
        "SPATIALVIZ_LOG_LEVEL": "WARNING",
    }
    env.pop("SPATIALVIZ_REDIS_URL", None)
    if settings.redis_url:
        env["SPATIALVIZ_REDIS_URL"] = settings.redis_url
    return env


def is_live(base: str) -> bool:
    try:
        return httpx.get(f"{base}/livez", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(condition: object, process: subprocess.Popen[bytes], within: float = 90) -> None:
    assert callable(condition)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached")


def worker_pids(master: psutil.Process) -> set[int]:
    return live_children(master)


@contextmanager
def serving_workers(
    settings: Settings, log: Path, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, psutil.Process]]:
    """`spatialviz serve --workers 2` on a free port: its base URL and master process, live
    (each worker started) until the block ends, then stopped with SIGTERM."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    settings.validate_for_startup()  # one JWT key, made before the workers start
    # The test database is a copy of a migrated template: no migration to run.
    port = _free_port()
    process = subprocess.Popen(
        [*SPATIALVIZ, "serve", "--workers", "2", "--port", str(port)],
        env={**server_env(settings), **(extra_env or {})},
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: is_live(base), process)
        yield base, psutil.Process(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
