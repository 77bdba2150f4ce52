"""Cache and pub/sub adapters: the in-process ones always, Redis in services mode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from spatialviz.kit.cache import (
    Cache,
    MemoryCache,
    MemoryPubSub,
    PubSub,
    RedisCache,
    RedisPubSub,
    create_redis,
)
from tests.conftest import REDIS_TEST_URL, SERVICES

KINDS = ["memory", "redis"] if SERVICES else ["memory"]


@pytest.fixture(params=KINDS)
async def adapters(
    request: pytest.FixtureRequest, redis_url: str | None
) -> AsyncIterator[tuple[Cache, PubSub]]:
    if request.param == "memory":
        memory: tuple[Cache, PubSub] = (MemoryCache(), MemoryPubSub())
        yield memory
        return
    client = create_redis(redis_url or REDIS_TEST_URL, 2.0)
    real: tuple[Cache, PubSub] = (RedisCache(client), RedisPubSub(client))
    yield real
    await client.aclose()


async def test_cache_roundtrip_and_expiry(adapters: tuple[Cache, PubSub]) -> None:
    cache, _ = adapters
    await cache.set("k", b"v")
    assert await cache.get("k") == b"v"
    await cache.set("short", b"v", ttl_seconds=0.05)
    await asyncio.sleep(0.2)
    assert await cache.get("short") is None
    await cache.delete("k")
    assert await cache.get("k") is None


async def test_pubsub_delivers_only_subscribed_channels(adapters: tuple[Cache, PubSub]) -> None:
    _, pubsub = adapters
    async with pubsub.subscribe("job:1") as messages:
        await asyncio.sleep(0.05)
        await pubsub.publish("job:2", b"other")
        await pubsub.publish("job:1", b"mine")
        channel, data = await asyncio.wait_for(anext(aiter(messages)), 5)
    assert (channel, data) == ("job:1", b"mine")
