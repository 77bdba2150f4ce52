"""Everything with a connection or a file handle, created by the app's lifespan (or a
worker's start-up), never at import time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from spatialviz.config import Settings
from spatialviz.kit.cache import (
    Cache,
    MemoryCache,
    MemoryPubSub,
    PubSub,
    RedisCache,
    RedisPubSub,
    create_redis,
)
from spatialviz.kit.cache_metrics import CountingCache
from spatialviz.kit.db import create_engine, create_session_factory
from spatialviz.kit.jobs import JobQueue, UnstartedJobQueue
from spatialviz.kit.ratelimit import RateLimiter, create_rate_limiter
from spatialviz.kit.redis_topology import AnyRedis, close_redis
from spatialviz.kit.replica import ReplicaRouter
from spatialviz.kit.storage import BlobStorage, create_storage


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    storage: BlobStorage
    cache: Cache
    pubsub: PubSub
    rate_limiter: RateLimiter
    redis: AnyRedis | None = None
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    jobs: JobQueue = field(default_factory=UnstartedJobQueue)
    replica: ReplicaRouter | None = None

    async def aclose(self) -> None:
        await self.jobs.aclose()
        await self.engine.dispose()
        if self.replica is not None:
            await self.replica.aclose()
        await self.rate_limiter.aclose()
        if self.redis is not None:
            await close_redis(self.redis)


def storage_from_settings(settings: Settings) -> BlobStorage:
    secret = settings.s3_secret_access_key
    return create_storage(
        settings.storage_url,
        endpoint_url=settings.s3_endpoint_url,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret else None,
        region=settings.s3_region,
    )


def open_resources(
    settings: Settings,
    registry: CollectorRegistry | None = None,
    *,
    counted_caches: Iterable[str] = (),
) -> Resources:
    """``counted_caches``: cache key namespaces whose hits and misses ``registry`` counts
    (the API's; a worker counts none)."""
    registry = registry or CollectorRegistry()
    engine = create_engine(settings.database_url, echo=settings.database_echo)
    storage = storage_from_settings(settings)
    redis_client = None
    cache: Cache
    pubsub: PubSub
    if settings.redis_url:
        redis_client = create_redis(settings.redis_url, settings.redis_timeout_seconds)
        cache, pubsub = RedisCache(redis_client), RedisPubSub(redis_client)
    else:
        cache, pubsub = MemoryCache(), MemoryPubSub()
    if counted_caches:
        cache = CountingCache(cache, registry, counted_caches)
    return Resources(
        settings=settings,
        engine=engine,
        sessions=create_session_factory(engine),
        storage=storage,
        cache=cache,
        pubsub=pubsub,
        rate_limiter=create_rate_limiter(settings),
        redis=redis_client,
        registry=registry,
        replica=_replica_router(settings, engine),
    )


def _replica_router(settings: Settings, primary: AsyncEngine) -> ReplicaRouter | None:
    if settings.database_replica_url is None:
        return None
    replica = create_engine(settings.database_replica_url, echo=settings.database_echo)
    return ReplicaRouter(primary, replica, settings.database_replica_sticky_seconds)
