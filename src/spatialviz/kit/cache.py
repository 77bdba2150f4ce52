"""Cache and pub/sub behind small interfaces: in-process (embedded) or Redis (production)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import redis.asyncio as aioredis


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


def create_redis(url: str, timeout_seconds: float) -> aioredis.Redis:
    """Short timeouts everywhere: a Redis that is down must never hang a request."""
    return aioredis.Redis.from_url(
        url,
        socket_connect_timeout=timeout_seconds,
        socket_timeout=timeout_seconds,
        health_check_interval=30,
        retry_on_timeout=False,
    )


async def ping_redis(client: aioredis.Redis) -> None:
    # redis-py types ping() as "Awaitable[bool] | bool" for its sync/async twins.
    result = client.ping()
    if not isinstance(result, bool):
        await result


class RedisCache:
    def __init__(self, client: aioredis.Redis, prefix: str = "sv:cache:") -> None:
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


class RedisPubSub:
    def __init__(self, client: aioredis.Redis, prefix: str = "sv:ps:") -> None:
        self._r, self._p = client, prefix

    async def publish(self, channel: str, message: bytes) -> None:
        await self._r.publish(self._p + channel, message)

    @asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[AsyncIterator[tuple[str, bytes]]]:
        ps = self._r.pubsub(ignore_subscribe_messages=True)
        await ps.subscribe(*(self._p + c for c in channels))
        strip = len(self._p)

        async def messages() -> AsyncIterator[tuple[str, bytes]]:
            while True:
                msg = await ps.get_message(timeout=1.0)
                if msg is None:
                    continue
                channel = msg["channel"]
                name = channel.decode() if isinstance(channel, bytes) else str(channel)
                yield name[strip:], msg["data"]

        try:
            yield messages()
        finally:
            await ps.unsubscribe()
            await ps.aclose()  # type: ignore[no-untyped-call]
