"""Where everything lives: the namespaces, the segments that join them, their addresses and
ports, and the state folder.

Segmentation is by connectivity, not by firewall rules (the machine has no nftables): a
namespace reaches only the segments it has an interface on, and no namespace forwards
packets (``net.ipv4.ip_forward`` is 0 in every new namespace). So:

- the outside (the root namespace) has one link, to nginx; a route marks the rest of the
  stack's range unreachable, so nothing for it can leave the machine;
- ``front`` joins nginx and the API servers;
- ``data`` joins the API servers and workers to PostgreSQL, Redis and RabbitMQ;
- ``metrics`` joins Prometheus to the API servers and workers it scrapes.

A worker has no interface on ``front``: it cannot reach nginx at all. The outside cannot
reach PostgreSQL, Redis, RabbitMQ, an API server or Prometheus.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: Every namespace and link of the stack carries this prefix, so `down` finds exactly its own.
PREFIX = "svs-"
#: The stack's private range. Only addresses inside the stack's own namespaces use it.
NETWORK = "10.213.0.0/16"
OUTSIDE_LINK = "svs-out"
OUTSIDE_ADDRESS = "10.213.0.1"  # the root namespace's end of the link to nginx
EDGE_ADDRESS = "10.213.0.2"  # nginx, as the outside sees it
SWITCH = f"{PREFIX}switch"  # holds the segments' bridges

SEGMENTS = {"front": "10.213.1", "data": "10.213.2", "metrics": "10.213.3"}


@dataclass(frozen=True)
class Host:
    """One network namespace and its address (last octet) on each segment it joins."""

    name: str
    octet: int
    segments: tuple[str, ...]

    @property
    def netns(self) -> str:
        return f"{PREFIX}{self.name}"

    def address(self, segment: str) -> str:
        assert segment in self.segments, (self.name, segment)
        return f"{SEGMENTS[segment]}.{self.octet}"


EDGE = Host("edge", 2, ("front",))
API = (
    Host("api1", 11, ("front", "data", "metrics")),
    Host("api2", 12, ("front", "data", "metrics")),
)
WORKERS = (Host("work1", 21, ("data", "metrics")), Host("work2", 22, ("data", "metrics")))
PRIMARY = Host("db1", 31, ("data",))
REPLICA = Host("db2", 32, ("data",))
CACHE = Host("cache", 33, ("data",))
BROKER = Host("broker", 34, ("data",))
MONITOR = Host("mon", 2, ("metrics",))
HOSTS = (EDGE, *API, *WORKERS, PRIMARY, REPLICA, CACHE, BROKER, MONITOR)

API_PORT = 8000
WORKER_METRICS_PORT = 9808
POSTGRES_PORT = 5432
REDIS_PORT = 6379
AMQP_PORT = 5672
PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
HTTPS_PORT = 443

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"


def state_dir() -> Path:
    """``SPATIALVIZ_STACK_DIR`` or var/stack: configuration, data, logs and secrets."""
    given = os.environ.get("SPATIALVIZ_STACK_DIR")
    return Path(given).resolve() if given else REPO / "var" / "stack"


def public_url() -> str:
    return f"https://{EDGE_ADDRESS}"
