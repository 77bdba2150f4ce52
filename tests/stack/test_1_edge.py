"""The edge and the segmentation: TLS 1.3 only at nginx; from outside, nginx's 443 and
nothing else; a worker cannot reach nginx; each positive path the stack needs does work
(so the refusals are not an empty network's)."""

from __future__ import annotations

import socket
import ssl

import pytest

from spatialviz.stack.layout import (
    AMQP_PORT,
    API,
    API_PORT,
    BROKER,
    CACHE,
    EDGE,
    EDGE_ADDRESS,
    HTTPS_PORT,
    MONITOR,
    POSTGRES_PORT,
    PRIMARY,
    PROMETHEUS_PORT,
    REDIS_PORT,
    REPLICA,
    WORKER_METRICS_PORT,
    WORKERS,
)
from spatialviz.stack.netns import guarded, reachable
from tests.stack.client import Stack

pytestmark = [pytest.mark.stack, pytest.mark.timeout(900)]

INSIDE = [
    (PRIMARY.address("data"), POSTGRES_PORT),
    (REPLICA.address("data"), POSTGRES_PORT),
    (CACHE.address("data"), REDIS_PORT),
    (BROKER.address("data"), AMQP_PORT),
    *[(api.address(segment), API_PORT) for api in API for segment in api.segments],
    *[(w.address("metrics"), WORKER_METRICS_PORT) for w in WORKERS],
    (MONITOR.address("metrics"), PROMETHEUS_PORT),
    (EDGE.address("front"), HTTPS_PORT),
]


def test_nginx_speaks_tls_1_3_only(stack: Stack) -> None:
    with (
        socket.create_connection((EDGE_ADDRESS, HTTPS_PORT), timeout=10) as raw,
        stack.tls_context().wrap_socket(raw, server_hostname=EDGE_ADDRESS) as tls,
    ):
        assert tls.version() == "TLSv1.3"
    old = stack.tls_context()
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection((EDGE_ADDRESS, HTTPS_PORT), timeout=10) as raw,
        pytest.raises(ssl.SSLError),
    ):
        old.wrap_socket(raw, server_hostname=EDGE_ADDRESS)
    with stack.client() as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ok"
        assert ready.headers["strict-transport-security"].startswith("max-age=")
        assert client.get("/metrics").status_code == 404  # scraped inside, never shown outside


def test_the_outside_reaches_nginx_443_and_nothing_else(stack: Stack) -> None:
    # Without the stack's unreachable route these probes would leave the machine.
    assert guarded()
    assert reachable(None, EDGE_ADDRESS, HTTPS_PORT)
    assert not reachable(None, EDGE_ADDRESS, 80)  # the redirect listens on the edge's loopback
    reached = [target for target in INSIDE if reachable(None, *target)]
    assert reached == []


def test_a_worker_cannot_reach_nginx(stack: Stack) -> None:
    for worker in WORKERS:
        for address, port in ((EDGE.address("front"), HTTPS_PORT), (EDGE.address("front"), 80),
                              (EDGE_ADDRESS, HTTPS_PORT)):  # fmt: skip
            assert not reachable(worker.netns, address, port), (worker.name, address, port)
        # ...while it does reach what it needs (the refusal above is not an empty network's).
        assert reachable(worker.netns, BROKER.address("data"), AMQP_PORT)
        assert reachable(worker.netns, PRIMARY.address("data"), POSTGRES_PORT)


def test_each_tier_reaches_only_its_neighbours(stack: Stack) -> None:
    api = API[0]
    assert reachable(EDGE.netns, api.address("front"), API_PORT)
    assert not reachable(EDGE.netns, PRIMARY.address("data"), POSTGRES_PORT)  # nginx: no data
    assert reachable(api.netns, PRIMARY.address("data"), POSTGRES_PORT)
    assert reachable(api.netns, CACHE.address("data"), REDIS_PORT)
    assert reachable(MONITOR.netns, api.address("metrics"), API_PORT)
    assert not reachable(MONITOR.netns, PRIMARY.address("data"), POSTGRES_PORT)
    assert not reachable(PRIMARY.netns, EDGE.address("front"), HTTPS_PORT)
