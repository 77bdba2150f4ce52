"""A real 3-master Redis Cluster for the tests that must hold on one (services mode).

Started once per test session from Debian's ``redis-server`` in a temporary directory, on
loopback ports from ``SPATIALVIZ_TEST_REDIS_CLUSTER_PORT`` (default 22101-22103; their
cluster bus on the port + 10, so nothing outside that small range is used), made a cluster
by ``redis-cli --cluster create``, and stopped at the end of the session.

A module runs its Redis behaviours against the single node, the cluster and a Sentinel
deployment (tests/redis_sentinel.py) alike by overriding ``redis_url`` with
:func:`each_redis` (``REDIS_KINDS`` are its params).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster

from spatialviz.kit.redis_topology import parse_sentinel_url
from tests.conftest import SERVICES, worker_port
from tests.private_servers import dies_with_this_process, refuse_taken_ports, wait_until_up

REDIS_KINDS = ["single", "cluster", "sentinel"] if SERVICES else ["embedded"]
PORT_SETTING = "SPATIALVIZ_TEST_REDIS_CLUSTER_PORT"
BASE_PORT = worker_port(int(os.environ.get(PORT_SETTING, "22101")))
MASTERS = 3
#: A bound on start-up, not a timing claim: a cluster that is not up by then has failed.
START_LIMIT_SECONDS = 60.0


def _wait(what: str, ready: Callable[[], bool]) -> None:
    wait_until_up(f"the test Redis servers: {what}", ready, START_LIMIT_SECONDS)


def _answers(port: int) -> bool:
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False
    finally:
        client.close()


def _cluster_ok(port: int) -> bool:
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    try:
        info: dict[str, object] = client.cluster("info")  # type: ignore[assignment]
        return bool(
            info.get("cluster_state") == "ok"
            and str(info.get("cluster_known_nodes")) == str(MASTERS)
        )
    finally:
        client.close()


def start_cluster(directory: Path, base_port: int) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """Start ``MASTERS`` nodes on base_port.. and join them; the URL and the processes."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        raise RuntimeError("redis-server and redis-cli are needed (Debian: redis-server)")
    ports = [base_port + i for i in range(MASTERS)]
    bus_ports = [port + 10 for port in ports]
    refuse_taken_ports("the private Redis Cluster", [*ports, *bus_ports], PORT_SETTING)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            node_dir = directory / str(port)
            node_dir.mkdir(parents=True)
            args = [
                server,
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--cluster-enabled", "yes",
                "--cluster-port", str(port + 10),
                "--cluster-config-file", str(node_dir / "nodes.conf"),
                "--cluster-node-timeout", "2000",
                "--dir", str(node_dir),
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
            ]  # fmt: skip
            log = (node_dir / "redis.log").open("wb")
            processes.append(
                subprocess.Popen(dies_with_this_process(args), stdout=log, stderr=subprocess.STDOUT)
            )
        for port in ports:
            _wait(f"node {port} answers", functools.partial(_answers, port))
        create = [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports)]
        subprocess.run(
            [*create, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=START_LIMIT_SECONDS,
        )
        for port in ports:
            _wait(f"node {port} sees the cluster", functools.partial(_cluster_ok, port))
    except BaseException:
        stop_cluster(processes)
        raise
    url = "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports[:2])
    return url, processes


def stop_cluster(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, processes = start_cluster(tmp_path_factory.mktemp("redis-cluster"), BASE_PORT)
    try:
        yield url
    finally:
        stop_cluster(processes)


def flush_cluster(url: str) -> None:
    client = RedisCluster(host="127.0.0.1", port=BASE_PORT, socket_connect_timeout=2)
    try:
        client.flushall(target_nodes=RedisCluster.ALL_NODES)
    finally:
        client.close()


def each_redis(request: pytest.FixtureRequest, single_url: str | None) -> Iterator[str | None]:
    """The body of a module's ``redis_url`` override parametrised by ``REDIS_KINDS``."""
    if request.param not in ("cluster", "sentinel"):
        yield single_url
        return
    url: str = request.getfixturevalue(f"redis_{request.param}_url")
    flush = flush_cluster if request.param == "cluster" else flush_behind_sentinel
    flush(url)
    yield url
    flush(url)


def flush_behind_sentinel(url: str) -> None:
    """FLUSHALL on the master the sentinel names for ``url``."""
    target = parse_sentinel_url(url)
    host, port = target.sentinels[0]
    sentinel = redis.Redis(host=host, port=port, socket_connect_timeout=2)
    try:
        name = target.master_name
        # redis-py leaves the sync execute_command unannotated.
        address = sentinel.execute_command(  # type: ignore[no-untyped-call]
            "SENTINEL", "GET-MASTER-ADDR-BY-NAME", name
        )
    finally:
        sentinel.close()
    master = redis.Redis(host=address[0], port=int(address[1]), socket_connect_timeout=2)
    try:
        master.flushall()
    finally:
        master.close()
