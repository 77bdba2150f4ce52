"""A `spatialviz serve --workers N` server (Gunicorn) started as a user would, for the tests
that drive one (tests/test_server.py, tests/test_server_metrics.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import psutil

from spatialviz.config import Settings
from tests.conftest import TEST_SECRET

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
    return {child.pid for child in master.children() if child.status() != psutil.STATUS_ZOMBIE}
