"""Which Redis ``SPATIALVIZ_REDIS_URL`` names: one node, a Redis Cluster, or a Sentinel
deployment.

=============================================  ============================================
``redis://[user:pass@]host:6379/0``            one node (``rediss://`` for TLS)
``redis+cluster://[user:pass@]h1:6379,h2:6379``  a Redis Cluster: any reachable nodes; the
                                               client learns the rest (``rediss+cluster://``
                                               for TLS). No database number: a cluster has
                                               only database 0.
``redis+sentinel://[user:pass@]h1:26379,h2:26379/mymaster[/db]``
                                               the master that Sentinel names ``mymaster``
                                               (``rediss+sentinel://`` for TLS); the
                                               credentials go to the sentinels and to the
                                               master alike, as in ``limits``.
=============================================  ============================================

The cache and the JWT deny-list use single-key commands only, and the rate limiter's Lua
scripts touch keys of one hash tag (``limits`` writes ``{key}`` and ``{key}/-1``), so both
run unchanged on a cluster. Pub/sub uses classic PUBLISH/SUBSCRIBE, which a cluster
broadcasts to every node over its bus: a subscriber on any one node hears every publisher.

Behind Sentinel everything talks to the current master (never a replica: a rate-limit
counter read from a lagging replica would let a client past its limit), so nothing changes
for the cache, the limiter or pub/sub; after a failover new connections find the new master.

The URLs use the ``+cluster`` / ``+sentinel`` forms of the ``limits`` library, so the rate
limiter's storage is named by the same string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import NoBackoff

AnyRedis = aioredis.Redis | aioredis.RedisCluster

CLUSTER_SCHEMES = frozenset({"redis+cluster", "rediss+cluster"})
SENTINEL_SCHEMES = frozenset({"redis+sentinel", "rediss+sentinel"})


class RedisUrlError(ValueError):
    """The URL cannot name a Redis we can use; the message names the setting."""


def is_cluster_url(url: str | None) -> bool:
    return url is not None and url.split("://", 1)[0].lower() in CLUSTER_SCHEMES


def is_sentinel_url(url: str | None) -> bool:
    return url is not None and url.split("://", 1)[0].lower() in SENTINEL_SCHEMES


def topology(url: str) -> Literal["single", "cluster", "sentinel"]:
    if is_cluster_url(url):
        return "cluster"
    return "sentinel" if is_sentinel_url(url) else "single"


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
    nodes, username, password = _hosts_and_credentials(authority, 6379)
    return ClusterTarget(nodes, username, password, scheme.lower() == "rediss+cluster")


@dataclass(frozen=True)
class SentinelTarget:
    sentinels: tuple[tuple[str, int], ...]
    master_name: str
    db: int
    username: str | None
    password: str | None
    ssl: bool


def parse_sentinel_url(url: str) -> SentinelTarget:
    """``redis+sentinel://[user:pass@]h1:p1,h2:p2/<master>[/db]`` → sentinels, master, db."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in SENTINEL_SCHEMES:
        raise RedisUrlError(f"SPATIALVIZ_REDIS_URL scheme {scheme!r} is not a sentinel scheme")
    authority, _, path = rest.partition("/")
    master_name, _, db_text = path.strip("/").partition("/")
    if not master_name:
        raise RedisUrlError("SPATIALVIZ_REDIS_URL: name the Sentinel master: …/<master>[/db]")
    if not (db_text or "0").isdigit():
        raise RedisUrlError(f"SPATIALVIZ_REDIS_URL: database {db_text!r} is not a number")
    sentinels, username, password = _hosts_and_credentials(authority, 26379)
    return SentinelTarget(
        sentinels,
        unquote(master_name),
        int(db_text or "0"),
        username,
        password,
        scheme.lower() == "rediss+sentinel",
    )


def _hosts_and_credentials(
    authority: str, default_port: int
) -> tuple[tuple[tuple[str, int], ...], str | None, str | None]:
    """``[user:pass@]h1:p1,h2:p2`` (urlsplit cannot read several host:port pairs)."""
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
            port = parsed.port or default_port
        except ValueError:
            raise RedisUrlError(f"SPATIALVIZ_REDIS_URL: {part!r} has a bad port") from None
        nodes.append((parsed.hostname, port))
    return tuple(nodes), username, password


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
    if is_sentinel_url(url):
        return _sentinel_master(parse_sentinel_url(url), timeout_seconds)
    return aioredis.Redis.from_url(
        url,
        socket_connect_timeout=timeout_seconds,
        socket_timeout=timeout_seconds,
        health_check_interval=30,
        retry_on_timeout=False,
    )


def _no_retry() -> Retry:
    """A fresh one each time: connections adjust their Retry's error list in place."""
    return Retry(NoBackoff(), 0)


def _sentinel_master(target: SentinelTarget, timeout_seconds: float) -> aioredis.Redis:
    """A client of the current master: each new connection asks the sentinels where it is."""
    common: dict[str, Any] = {
        "socket_connect_timeout": timeout_seconds,
        "socket_timeout": timeout_seconds,
    }
    if target.username is not None:
        common["username"] = target.username
    if target.password is not None:
        common["password"] = target.password
    if target.ssl:
        common["ssl"] = True
    # A sentinel that does not answer is not retried with back-off (redis-py's default,
    # seconds long): the next sentinel in the list is the retry.
    to_sentinels = {**common, "retry": _no_retry()}
    # redis-py leaves Sentinel's constructor unannotated.
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(target.sentinels), sentinel_kwargs=to_sentinels, **common
    )
    master: aioredis.Redis = sentinel.master_for(
        target.master_name, db=target.db, health_check_interval=30, retry_on_timeout=False
    )
    return master


def sentinel_pool(client: AnyRedis) -> SentinelConnectionPool | None:
    pool = getattr(client, "connection_pool", None)
    return pool if isinstance(pool, SentinelConnectionPool) else None


async def close_redis(client: AnyRedis) -> None:
    """Close ``client`` and, behind Sentinel, its connections to the sentinels too."""
    await client.aclose()
    pool = sentinel_pool(client)
    if pool is not None:
        for sentinel in pool.sentinel_manager.sentinels:
            await sentinel.aclose()


def node_client(cluster: aioredis.RedisCluster, node: ClusterNode) -> aioredis.Redis:
    """A plain connection to one node of ``cluster``, with the cluster's credentials and
    timeouts (for SUBSCRIBE, which the asyncio cluster client does not offer)."""
    kwargs: dict[str, Any] = cluster.connection_kwargs
    keep = ("username", "password", "socket_connect_timeout", "socket_timeout")
    options = {name: kwargs[name] for name in keep if kwargs.get(name) is not None}
    if kwargs.get("connection_class") is not None and "SSL" in kwargs["connection_class"].__name__:
        options["ssl"] = True
    return aioredis.Redis(host=node.host, port=int(node.port), health_check_interval=30, **options)


def limits_storage_uri(
    url: str, timeout_seconds: float | None = None
) -> tuple[str, dict[str, Any]]:
    """The ``limits`` storage URI for ``url`` and the extra options it needs."""
    if is_sentinel_url(url):
        # limits reads only ``/<master>`` from the path: the database goes as an option.
        target = parse_sentinel_url(url)
        authority = url.partition("://")[2].partition("/")[0]
        to_sentinels: dict[str, Any] = {"retry": _no_retry()}
        if target.ssl:
            to_sentinels["ssl"] = True
        if timeout_seconds is not None:
            to_sentinels["socket_timeout"] = to_sentinels["socket_connect_timeout"] = (
                timeout_seconds
            )
        options: dict[str, Any] = {
            "db": target.db,
            "use_replicas": False,  # a lagging replica's counter would let clients past
            "sentinel_kwargs": to_sentinels,
        }
        if target.ssl:
            options["ssl"] = True
        return f"async+redis+sentinel://{authority}/{target.master_name}", options
    if is_cluster_url(url):
        scheme, _, rest = url.partition("://")
        ssl: dict[str, Any] = {"ssl": True} if scheme.lower() == "rediss+cluster" else {}
        return f"async+redis+cluster://{rest.rstrip('/')}", ssl
    return "async+" + url, {}
