"""Faults on the running stack: an API server stopped under load, the replica stopped, and
the alert Prometheus raises for the missing API server reaching Alertmanager. These change
the stack, so they run after the other tests (the files run in name order)."""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from spatialviz.stack import netns
from spatialviz.stack.layout import API, API_PORT, REPLICA
from spatialviz.stack.settings import pg_bin
from tests.stack.client import Stack, in_netns, tile_uris
from tests.stack.conftest import ReadyScene, Tenant

pytestmark = [pytest.mark.stack, pytest.mark.timeout(900)]
CLIENTS = 4


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def _root_process(namespace: str) -> int:
    """The process of ``namespace`` whose parent is outside it (Gunicorn's master)."""
    pids = set(netns.pids(namespace))
    roots = [pid for pid in pids if _parent(pid) not in pids]
    assert len(roots) == 1, (namespace, roots)
    return roots[0]


class Load:
    """CLIENTS threads sending signed tile and tileset GETs through nginx, each on its own
    connection, counting answers by status (or exception name)."""

    def __init__(self, stack: Stack, urls: list[str]) -> None:
        self.stack = stack
        self.urls = urls
        self.answers: Counter[str] = Counter()
        self.sent = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(CLIENTS)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)

    def _run(self, index: int) -> None:
        urls = itertools.cycle(self.urls[index:] + self.urls[:index])
        with self.stack.client(timeout=60) as client:
            while not self._stop.is_set() and self.sent < 20_000:  # bounded in count
                try:
                    answer = str(client.get(next(urls)).status_code)
                except httpx.HTTPError as error:
                    answer = type(error).__name__
                with self._lock:
                    self.answers[answer] += 1
                    self.sent += 1

    def wait_for(self, more: int, within: float = 120) -> None:
        target = self.sent + more
        deadline = time.monotonic() + within
        while self.sent < target:
            assert time.monotonic() < deadline, f"load stalled at {self.sent}: {self.answers}"
            time.sleep(0.05)

    @property
    def failed(self) -> int:
        return sum(count for answer, count in self.answers.items() if answer != "200")


def _urls(stack: Stack, scene: ReadyScene) -> list[str]:
    with stack.client() as client:
        tileset = client.get(scene.tileset_url).json()
    base = f"/api/v1/scenes/{scene.id}"
    tiles = [f"{base}/{uri}?sig={scene.sig}" for uri in tile_uris(tileset["root"])]
    return [scene.tileset_url, *tiles[:40]]


def test_stopping_one_api_server_fails_no_request(stack: Stack, scene: ReadyScene) -> None:
    stopped = API[0]
    master = _root_process(stopped.netns)
    with Load(stack, _urls(stack, scene)) as load:
        load.wait_for(200)
        os.kill(master, signal.SIGTERM)  # Gunicorn: stop listening, finish what is in flight
        deadline = time.monotonic() + 120
        while netns.pids(stopped.netns):
            assert time.monotonic() < deadline, "the API server did not stop"
            time.sleep(0.1)
        assert not netns.reachable(stopped.netns, stopped.address("front"), API_PORT)
        load.wait_for(500)  # all of these met only the surviving server
    print(f"STACK api1 stopped under load: {dict(load.answers)}")
    # Only requests in flight at the stop may fail (one per client at most); Gunicorn's
    # graceful stop and nginx's retry of idempotent requests aim at none.
    assert load.failed <= CLIENTS, load.answers
    assert load.answers["200"] >= 700


def test_stopping_the_replica_keeps_reads_working_and_readyz_degraded(
    stack: Stack, tenant: Tenant, scene: ReadyScene
) -> None:
    data = stack.state / "pg" / "replica"
    in_netns(REPLICA.netns, "runuser", "-u", "postgres", "--", str(pg_bin() / "pg_ctl"),
             "-D", str(data), "-m", "immediate", "-w", "stop")  # fmt: skip
    with stack.client() as client:
        for _ in range(20):
            for url in (f"/api/v1/scenes/{scene.id}", f"/api/v1/datasets/{scene.dataset_id}",
                        "/api/v1/workspaces"):  # fmt: skip
                response = client.get(url, headers=tenant.headers)
                assert response.status_code == 200, (url, response.text)
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "degraded"
        assert ready.json()["degraded"] == ["replica"]


def test_a_real_alert_reaches_alertmanager(stack: Stack) -> None:
    """SpatialvizApiDown (deploy/prometheus/alerts.yml, `for: 2m`) for the API server
    stopped above, raised by Prometheus and received by Alertmanager."""
    instance = f"{API[0].address('metrics')}:{API_PORT}"
    deadline = time.monotonic() + 300
    while True:
        alerts = stack.alertmanager_alerts()
        names = {(a["labels"]["alertname"], a["labels"].get("instance")) for a in alerts}
        if ("SpatialvizApiDown", instance) in names:
            break
        assert time.monotonic() < deadline, names
        time.sleep(5)
