"""Administrator actions run from the command line (``spatialviz users disable``): the
operator, who holds the database, is the administrator; no API route can do this."""

from __future__ import annotations

from spatialviz.auth.service import set_user_disabled
from spatialviz.config import Settings
from spatialviz.kit.cache import Cache, MemoryCache, RedisCache, create_redis
from spatialviz.kit.db import create_engine, create_session_factory, transaction
from spatialviz.kit.redis_topology import close_redis


async def disable_or_enable(settings: Settings, email: str, *, disabled: bool) -> str:
    """Commit the change and return the account id. With Redis, every API process drops its
    cached grants at once; in embedded mode (no shared cache) the server's own cache entries
    expire within ``scene_grant_cache_seconds`` (5 s), and access tokens and keys stop on
    the next request regardless (they are checked against the database)."""
    engine = create_engine(settings.database_url)
    redis = (
        create_redis(settings.redis_url, settings.redis_timeout_seconds)
        if settings.redis_url
        else None
    )
    cache: Cache = RedisCache(redis) if redis is not None else MemoryCache()
    try:
        async with transaction(create_session_factory(engine)) as session:
            user = await set_user_disabled(session, cache, email=email, disabled=disabled)
            user_id = str(user.id)
    finally:
        await engine.dispose()
        if redis is not None:
            await close_redis(redis)
    return user_id
