"""Which Redis ``SPATIALVIZ_REDIS_URL`` names: one node, or a Redis Cluster.

=============================================  ============================================
``redis://[user:pass@]host:6379/0``            one node (``rediss://`` for TLS)
``redis+cluster://[user:pass@]h1:6379,h2:6379``  a Redis Cluster: any reachable nodes; the
                                               client learns the rest (``rediss+cluster://``
                                               for TLS). No database number: a cluster has
                                               only database 0.
=============================================  ============================================

The cache and the JWT deny-list use single-key commands only, and the rate limiter's Lua
scripts touch keys of one hash tag (``limits`` writes ``{key}`` and ``{key}/-1``), so both
run unchanged on a cluster. Pub/sub uses classic PUBLISH/SUBSCRIBE, which a cluster
broadcasts to every node over its bus: a subscriber on any one node hears every publisher.

The URL uses the ``+cluster`` form of the ``limits`` library, so the rate limiter's storage
is named by the same string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode

AnyRedis = aioredis.Redis | aioredis.RedisCluster

CLUSTER_SCHEMES = frozenset({"redis+cluster", "rediss+cluster"})


class RedisUrlError(ValueError):
    """The URL cannot name a Redis we can use; the message names the setting."""


def is_cluster_url(url: str | None) -> bool:
    return url is not None and url.split("://", 1)[0].lower() in CLUSTER_SCHEMES


@dataclass(frozen=True)
class ClusterTarget:
    nodes: tuple[tuple[str, int], ...]
    username: str | None
    password: str | None
    ssl: bool


def parse_cluster_url(url: str) -> ClusterTarget:
    """``redis+cluster://[user:pass@]h1:p1,h2:p2[/]`` → nodes and credentials."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in CLUSTER_SCHEMES:
        raise RedisUrlError(f"SPATIALVIZ_REDIS_URL scheme {scheme!r} is not a cluster scheme")
    # urlsplit cannot read several host:port pairs; split the authority by hand.
    authority, _, path = rest.partition("/")
    if path.strip("/") not in ("", "0"):
        raise RedisUrlError("SPATIALVIZ_REDIS_URL: a Redis Cluster has only database 0")
    credentials, _, hosts = authority.rpartition("@")
    username = password = None
    if credentials:
        user, sep, secret = credentials.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if sep else None
    nodes: list[tuple[str, int]] = []
    for part in hosts.split(","):
        parsed = urlsplit("//" + part.strip())
        if not parsed.hostname:
            raise RedisUrlError(f"SPATIALVIZ_REDIS_URL: {part!r} is not host:port")
        try:
            port = parsed.port or 6379
        except ValueError:
            raise RedisUrlError(f"SPATIALVIZ_REDIS_URL: {part!r} has a bad port") from None
        nodes.append((parsed.hostname, port))
    return ClusterTarget(tuple(nodes), username, password, scheme.lower() == "rediss+cluster")


def create_redis(url: str, timeout_seconds: float) -> AnyRedis:
    """Short timeouts everywhere: a Redis that is down must never hang a request."""
    if is_cluster_url(url):
        target = parse_cluster_url(url)
        return aioredis.RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
            username=target.username,
            password=target.password,
            ssl=target.ssl,
            socket_connect_timeout=timeout_seconds,
            socket_timeout=timeout_seconds,
            health_check_interval=30,
        )
    return aioredis.Redis.from_url(
        url,
        socket_connect_timeout=timeout_seconds,
        socket_timeout=timeout_seconds,
        health_check_interval=30,
        retry_on_timeout=False,
    )


def node_client(cluster: aioredis.RedisCluster, node: ClusterNode) -> aioredis.Redis:
    """A plain connection to one node of ``cluster``, with the cluster's credentials and
    timeouts (for SUBSCRIBE, which the asyncio cluster client does not offer)."""
    kwargs: dict[str, Any] = cluster.connection_kwargs
    keep = ("username", "password", "socket_connect_timeout", "socket_timeout")
    options = {name: kwargs[name] for name in keep if kwargs.get(name) is not None}
    if kwargs.get("connection_class") is not None and "SSL" in kwargs["connection_class"].__name__:
        options["ssl"] = True
    return aioredis.Redis(host=node.host, port=int(node.port), health_check_interval=30, **options)


def limits_storage_uri(url: str) -> tuple[str, dict[str, Any]]:
    """The ``limits`` storage URI for ``url`` and the extra options it needs."""
    if is_cluster_url(url):
        scheme, _, rest = url.partition("://")
        options: dict[str, Any] = {"ssl": True} if scheme.lower() == "rediss+cluster" else {}
        return f"async+redis+cluster://{rest.rstrip('/')}", options
    return "async+" + url, {}
