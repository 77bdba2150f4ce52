"""A real Sentinel deployment (master, one replica, one sentinel) for the tests that must
hold behind Sentinel (services mode).

Started once per test session from Debian's ``redis-server`` in a temporary directory, on
loopback ports from ``SPATIALVIZ_TEST_REDIS_SENTINEL_PORT`` (default 22301: master, +1
replica, +2 sentinel), and stopped at the end of the session.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.conftest import worker_port
from tests.private_servers import dies_with_this_process, refuse_taken_ports
from tests.redis_cluster import _answers, _wait, stop_cluster

PORT_SETTING = "SPATIALVIZ_TEST_REDIS_SENTINEL_PORT"
BASE_PORT = worker_port(int(os.environ.get(PORT_SETTING, "22301")))
MASTER_NAME = "svtest"


@dataclass
class SentinelDeployment:
    url: str
    master_port: int
    master: subprocess.Popen[bytes]
    replica: subprocess.Popen[bytes]
    sentinel: subprocess.Popen[bytes]

    @property
    def processes(self) -> list[subprocess.Popen[bytes]]:
        return [self.sentinel, self.replica, self.master]


def _info(port: int, section: str) -> dict[str, object]:
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    try:
        info: dict[str, object] = client.info(section)  # type: ignore[assignment]
        return info
    finally:
        client.close()


def _replica_in_sync(port: int) -> bool:
    return _info(port, "replication").get("master_link_status") == "up"


def _sentinel_knows_both(port: int) -> bool:
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    try:
        # redis-py leaves the sync execute_command unannotated.
        replicas = client.execute_command(  # type: ignore[no-untyped-call]
            "SENTINEL", "REPLICAS", MASTER_NAME
        )
        return len(replicas) == 1
    except redis.ResponseError:  # not monitoring yet
        return False
    finally:
        client.close()


def _server(server: str, node_dir: Path, args: list[str]) -> subprocess.Popen[bytes]:
    node_dir.mkdir(parents=True)
    log = (node_dir / "redis.log").open("wb")
    return subprocess.Popen(
        dies_with_this_process([server, *args]), stdout=log, stderr=subprocess.STDOUT
    )


def start_sentinel(directory: Path, base_port: int) -> SentinelDeployment:
    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError("redis-server is needed (Debian: redis-server)")
    master_port, replica_port, sentinel_port = base_port, base_port + 1, base_port + 2
    refuse_taken_ports(
        "the private Redis Sentinel deployment",
        (master_port, replica_port, sentinel_port),
        PORT_SETTING,
    )
    common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        master_dir = directory / "master"
        args = ["--port", str(master_port), "--dir", str(master_dir), *common]
        processes.append(_server(server, master_dir, args))
        replica_dir = directory / "replica"
        args = ["--port", str(replica_port), "--dir", str(replica_dir), *common]
        args += ["--replicaof", "127.0.0.1", str(master_port)]
        processes.append(_server(server, replica_dir, args))
        for port in (master_port, replica_port):
            _wait(f"node {port} answers", functools.partial(_answers, port))
        _wait("the replica is in sync", lambda: _replica_in_sync(replica_port))
        # Sentinel rewrites its configuration file, so it gets one of its own.
        sentinel_dir = directory / "sentinel"
        sentinel_dir.mkdir()
        config = sentinel_dir / "sentinel.conf"
        config.write_text(
            f"port {sentinel_port}\nbind 127.0.0.1\ndir {sentinel_dir}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 1\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} 5000\n"
        )
        log = (sentinel_dir / "sentinel.log").open("wb")
        processes.append(
            subprocess.Popen(
                dies_with_this_process([server, str(config), "--sentinel"]),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        _wait("the sentinel sees master and replica", lambda: _sentinel_knows_both(sentinel_port))
    except BaseException:
        stop_cluster(processes)
        raise
    url = f"redis+sentinel://127.0.0.1:{sentinel_port}/{MASTER_NAME}/0"
    return SentinelDeployment(url, master_port, *processes)


def stop_sentinel(deployment: SentinelDeployment) -> None:
    stop_cluster(deployment.processes)


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelDeployment]:
    deployment = start_sentinel(tmp_path_factory.mktemp("redis-sentinel"), BASE_PORT)
    try:
        yield deployment
    finally:
        stop_sentinel(deployment)


@pytest.fixture(scope="session")
def redis_sentinel_url(redis_sentinel: SentinelDeployment) -> str:
    return redis_sentinel.url


def flush_sentinel_master(deployment: SentinelDeployment) -> None:
    client = redis.Redis(port=deployment.master_port, socket_connect_timeout=2)
    try:
        client.flushall()
    finally:
        client.close()
