"""Cache and pub/sub behind small interfaces: in-process (embedded) or Redis (production:
one node, a Redis Cluster or Sentinel, kit/redis_topology.py)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from spatialviz.kit.redis_topology import AnyRedis, create_redis, node_client, sentinel_pool

__all__ = ["create_redis"]  # re-exported: the one way to open a Redis client


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def ping(self) -> None: ...


class PubSub(Protocol):
    async def publish(self, channel: str, message: bytes) -> None: ...
    def subscribe(
        self, *channels: str
    ) -> AbstractAsyncContextManager[AsyncIterator[tuple[str, bytes]]]:
        """``async with pubsub.subscribe("job:1") as messages: async for ch, data in ...``"""
        ...


class MemoryCache:
    """A dict with expiry: enough for one process, which is what embedded mode is."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._max = max_entries

    async def get(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires < time.monotonic():
            self._data.pop(key, None)
            return None
        return value

    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        if len(self._data) >= self._max and key not in self._data:
            self._data.pop(next(iter(self._data)))
        expires = None if ttl_seconds is None else time.monotonic() + ttl_seconds
        self._data[key] = (value, expires)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def ping(self) -> None:
        return None


class MemoryPubSub:
    """Fan-out to in-process subscribers; slow subscribers drop old messages, never block."""

    def __init__(self, queue_size: int = 256) -> None:
        self._subs: dict[str, set[asyncio.Queue[tuple[str, bytes]]]] = defaultdict(set)
        self._queue_size = queue_size

    async def publish(self, channel: str, message: bytes) -> None:
        for q in list(self._subs.get(channel, ())):
            if q.full():
                q.get_nowait()
            q.put_nowait((channel, message))

    @asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[AsyncIterator[tuple[str, bytes]]]:
        q: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(self._queue_size)
        for ch in channels:
            self._subs[ch].add(q)

        async def messages() -> AsyncIterator[tuple[str, bytes]]:
            while True:
                yield await q.get()

        try:
            yield messages()
        finally:
            for ch in channels:
                self._subs[ch].discard(q)
                if not self._subs[ch]:
                    del self._subs[ch]


async def ping_redis(client: AnyRedis) -> None:
    """One node answers PING; on a cluster every master must (one that is down leaves a
    third of the keys unreachable, which is what a health check is for); behind Sentinel a
    sentinel must name the master (without one, no new connection and no failover) and the
    master must answer."""
    pool = sentinel_pool(client)
    if pool is not None:
        await pool.sentinel_manager.discover_master(pool.service_name)
    # redis-py types ping() as "Awaitable[bool] | bool" for its sync/async twins.
    if isinstance(client, aioredis.RedisCluster):
        result = client.ping(target_nodes=aioredis.RedisCluster.PRIMARIES)
    else:
        result = client.ping()
    if not isinstance(result, bool):
        await result


class RedisCache:
    def __init__(self, client: AnyRedis, prefix: str = "sv:cache:") -> None:
        self._r, self._p = client, prefix

    async def get(self, key: str) -> bytes | None:
        value: bytes | None = await self._r.get(self._p + key)
        return value

    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        px = None if ttl_seconds is None else max(1, int(ttl_seconds * 1000))
        await self._r.set(self._p + key, value, px=px)

    async def delete(self, key: str) -> None:
        await self._r.delete(self._p + key)

    async def ping(self) -> None:
        await ping_redis(self._r)


# How long the server may take to confirm a SUBSCRIBE before the subscription counts as
# failed (a RedisTimeoutError: the dependency is away).
SUBSCRIBE_CONFIRM_SECONDS = 10.0


async def _confirmed(ps: aioredis.client.PubSub, count: int) -> list[dict[str, Any]]:
    """Wait for the server's confirmation of each channel. Replies on one connection come
    in order, so from then on every message published to the channels reaches us: a caller
    may subscribe, then read the current state, and miss no update in between (redis-py's
    subscribe() only sends the command). Returns the messages of channels confirmed
    earlier that arrived meanwhile."""
    deadline = time.monotonic() + SUBSCRIBE_CONFIRM_SECONDS
    seen = 0
    early: list[dict[str, Any]] = []
    while seen < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RedisTimeoutError(f"SUBSCRIBE not confirmed within {SUBSCRIBE_CONFIRM_SECONDS} s")
        msg = await ps.get_message(timeout=left)
        if msg is None:
            continue
        if msg["type"] == "subscribe":
            seen += 1
        elif msg["type"] == "message":
            early.append(msg)
    return early


class RedisPubSub:
    """Classic PUBLISH/SUBSCRIBE. On a Redis Cluster a message published on any node is
    broadcast to every node, so a subscription holds one plain connection to one node
    (the asyncio cluster client has no SUBSCRIBE); when that node is unreachable the next
    one is tried."""

    def __init__(self, client: AnyRedis, prefix: str = "sv:ps:") -> None:
        self._r, self._p = client, prefix

    async def publish(self, channel: str, message: bytes) -> None:
        # execute_command: the asyncio cluster client has no publish() of its own.
        await self._r.execute_command("PUBLISH", self._p + channel, message)

    async def _subscriber(self) -> tuple[aioredis.Redis, bool]:
        """A client to subscribe on, and whether it is ours to close."""
        if not isinstance(self._r, aioredis.RedisCluster):
            return self._r, False
        await self._r.initialize()
        nodes = self._r.get_nodes()
        random.shuffle(nodes)  # spread the subscriptions of many processes over the nodes
        failure: Exception | None = None
        for node in nodes:
            client = node_client(self._r, node)
            try:
                await ping_redis(client)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                failure = exc
                await client.aclose()
                continue
            return client, True
        raise failure or RedisConnectionError("no Redis Cluster node answers")

    @asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[AsyncIterator[tuple[str, bytes]]]:
        client, owned = await self._subscriber()
        try:
            async with self._subscription(client, channels) as messages:
                yield messages
        finally:
            if owned:
                await client.aclose()

    @asynccontextmanager
    async def _subscription(
        self, client: aioredis.Redis, channels: tuple[str, ...]
    ) -> AsyncIterator[AsyncIterator[tuple[str, bytes]]]:
        ps = client.pubsub()
        names = {self._p + c for c in channels}
        await ps.subscribe(*names)
        early = await _confirmed(ps, len(names))
        strip = len(self._p)

        async def messages() -> AsyncIterator[tuple[str, bytes]]:
            while True:
                msg = early.pop(0) if early else await ps.get_message(timeout=1.0)
                if msg is None or msg["type"] != "message":
                    continue
                channel = msg["channel"]
                name = channel.decode() if isinstance(channel, bytes) else str(channel)
                yield name[strip:], msg["data"]

        try:
            yield messages()
        finally:
            await ps.unsubscribe()
            await ps.aclose()  # type: ignore[no-untyped-call]
