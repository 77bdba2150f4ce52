"""`spatialviz serve --workers N`: Gunicorn with uvicorn workers, really started. A HUP
replaces every worker with no failed request; a multi-process server without Redis is
refused in one line before it starts."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from spatialviz.config import Settings
from spatialviz.server import ServeOptions, gunicorn_config
from tests.cli_helpers import assert_one_line_refusal, run_spatialviz
from tests.conftest import SERVICES, _free_port
from tests.gunicorn_server import server_env, serving_workers, worker_pids


def test_gunicorn_runs_uvicorn_workers_and_recycles_them() -> None:
    config = gunicorn_config(ServeOptions(host="127.0.0.1", port=8000, workers=3))
    assert config["worker_class"] == "spatialviz.kit.slow_clients.HeaderDeadlineWorker"
    assert config["workers"] == 3
    assert config["max_requests"] > 0
    assert config["max_requests_jitter"] > 0
    assert config["preload_app"] is False
    # X-Forwarded-For is believed from nobody unless proxies are configured (issue 16).
    assert config["forwarded_allow_ips"] == ""
    trusted = ServeOptions(host="127.0.0.1", port=8000, workers=3, trusted_proxies=("10.0.0.5",))
    assert gunicorn_config(trusted)["forwarded_allow_ips"] == "10.0.0.5"


def test_several_workers_without_redis_are_refused(settings: Settings) -> None:
    env = server_env(settings)
    env.pop("SPATIALVIZ_REDIS_URL", None)
    result = run_spatialviz("serve", "--workers", "2", "--port", str(_free_port()), env=env)
    assert_one_line_refusal(result, "SPATIALVIZ_REDIS_URL")


@pytest.fixture
def gunicorn(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, psutil.Process]]:
    with serving_workers(settings, tmp_path / "gunicorn.log") as served:
        yield served


@pytest.mark.skipif(not SERVICES, reason="several workers need Redis (services mode)")
def test_hup_replaces_every_worker_without_a_failed_request(
    gunicorn: tuple[str, psutil.Process],
) -> None:
    base, master = gunicorn
    old = worker_pids(master)
    assert len(old) == 2
    failures: list[str] = []
    answered = 0
    stop = threading.Event()

    def hammer() -> None:
        nonlocal answered
        # New connections each time: a kept-alive connection would hold an old worker until
        # its graceful timeout.
        # A slow answer on a busy machine is not a failure; an error or a 5xx is.
        with httpx.Client(timeout=180, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            while not stop.is_set():
                try:
                    response = client.get(f"{base}/api/v1/auth/me-not-found")
                    if response.status_code >= 500:
                        failures.append(str(response.status_code))
                    answered += 1
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        master.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            current = worker_pids(master)
            if len(current) == 2 and not current & old:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"workers were not replaced: {old} -> {worker_pids(master)}")
        # A request after the swap reaches a new worker.
        before = answered
        while answered < before + 20 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert failures == []
    assert answered > 0
