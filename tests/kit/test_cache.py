"""Cache and pub/sub adapters: the in-process ones always, Redis in services mode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import RedisCluster

from spatialviz.kit.cache import (
    Cache,
    MemoryCache,
    MemoryPubSub,
    PubSub,
    RedisCache,
    RedisPubSub,
    create_redis,
)
from spatialviz.kit.redis_topology import close_redis, node_client
from tests.conftest import REDIS_TEST_URL, SERVICES
from tests.redis_cluster import flush_behind_sentinel, flush_cluster

KINDS = ["memory", "redis", "cluster", "sentinel"] if SERVICES else ["memory"]


@pytest.fixture(params=KINDS)
async def adapters(
    request: pytest.FixtureRequest, redis_url: str | None
) -> AsyncIterator[tuple[Cache, PubSub]]:
    if request.param == "memory":
        memory: tuple[Cache, PubSub] = (MemoryCache(), MemoryPubSub())
        yield memory
        return
    if request.param == "cluster":
        redis_url = request.getfixturevalue("redis_cluster_url")
        flush_cluster(str(redis_url))
    if request.param == "sentinel":
        redis_url = request.getfixturevalue("redis_sentinel_url")
        flush_behind_sentinel(str(redis_url))
    client = create_redis(redis_url or REDIS_TEST_URL, 2.0)
    real: tuple[Cache, PubSub] = (RedisCache(client), RedisPubSub(client))
    yield real
    await close_redis(client)


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
    # No pause after subscribing: the subscription is live once the context is entered.
    async with pubsub.subscribe("job:1") as messages:
        await pubsub.publish("job:2", b"other")
        await pubsub.publish("job:1", b"mine")
        channel, data = await asyncio.wait_for(anext(aiter(messages)), 5)
    assert (channel, data) == ("job:1", b"mine")


async def test_every_channel_of_a_subscription_is_live_at_once(
    adapters: tuple[Cache, PubSub],
) -> None:
    """Messages published right after subscribing to several channels all arrive, in order,
    including one sent while the later channels were still being confirmed."""
    _, pubsub = adapters
    async with pubsub.subscribe("scene:1", "scene:2", "scene:3") as messages:
        for n in (3, 1, 2):
            await pubsub.publish(f"scene:{n}", str(n).encode())
        stream = aiter(messages)
        got = [await asyncio.wait_for(anext(stream), 5) for _ in range(3)]
    assert got == [("scene:3", b"3"), ("scene:1", b"1"), ("scene:2", b"2")]


@pytest.mark.skipif(not SERVICES, reason="services mode only")
async def test_cluster_keys_spread_over_every_master(redis_cluster_url: str) -> None:
    """The cluster fixture is a real cluster: cache keys land on all three masters, and
    every one reads back through the cluster client (MOVED redirections followed)."""
    flush_cluster(redis_cluster_url)
    client = create_redis(redis_cluster_url, 2.0)
    cache = RedisCache(client)
    try:
        for i in range(60):
            await cache.set(f"k{i}", str(i).encode())
        assert [await cache.get(f"k{i}") for i in range(60)] == [str(i).encode() for i in range(60)]
        assert isinstance(client, RedisCluster)
        per_node = [await node_client(client, node).dbsize() for node in client.get_primaries()]
    finally:
        await client.aclose()
    assert len(per_node) == 3
    assert all(count > 0 for count in per_node), per_node
    assert sum(per_node) == 60


@pytest.mark.skipif(not SERVICES, reason="services mode only")
async def test_cluster_pubsub_crosses_nodes(redis_cluster_url: str) -> None:
    """A subscriber held on one node hears a message published through every node."""
    client = create_redis(redis_cluster_url, 2.0)
    assert isinstance(client, RedisCluster)
    pubsub = RedisPubSub(client)
    try:
        async with pubsub.subscribe("job:x") as messages:
            received = aiter(messages)
            await client.initialize()
            for node in client.get_primaries():
                direct = node_client(client, node)
                await direct.publish("sv:ps:job:x", node.name.encode())
                await direct.aclose()
                channel, data = await asyncio.wait_for(anext(received), 5)
                assert (channel, data) == ("job:x", node.name.encode())
    finally:
        await client.aclose()
