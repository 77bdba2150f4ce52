"""Readiness checks: each dependency answers within a bounded time or counts as down."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import anyio
from sqlalchemy import text

from spatialviz.kit.cache import ping_redis
from spatialviz.kit.resources import Resources

CHECK_TIMEOUT_SECONDS = 3.0


async def _database(resources: Resources) -> None:
    async with resources.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _replica(resources: Resources) -> None:
    if resources.replica is not None:
        async with resources.replica.replica_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))


async def _redis(resources: Resources) -> None:
    if resources.redis is not None:
        await ping_redis(resources.redis)


async def _storage(resources: Resources) -> None:
    await anyio.to_thread.run_sync(resources.storage.check)


# Without these the API cannot answer at all: the pod is not ready. The others degrade
# features (Redis: WebSocket progress, sign-in rate limits, the JWT deny-list) on every pod
# at once, so they are reported but never take pods out of the load balancer.
CRITICAL = frozenset({"database", "storage"})

CHECKS: dict[str, Callable[[Resources], Awaitable[None]]] = {
    "database": _database,
    "redis": _redis,
    "storage": _storage,
    "replica": _replica,
}


async def readiness(resources: Resources) -> dict[str, str]:
    """Run every check concurrently; a name maps to "ok" or a short reason."""

    async def run(check: Callable[[Resources], Awaitable[None]]) -> str:
        try:
            await asyncio.wait_for(check(resources), CHECK_TIMEOUT_SECONDS)
        except TimeoutError:
            return "timed out"
        except Exception as exc:
            return type(exc).__name__
        return "ok"

    configured = {"redis": resources.redis is not None, "replica": resources.replica is not None}
    names = [n for n in CHECKS if configured.get(n, True)]
    results = await asyncio.gather(*(run(CHECKS[n]) for n in names))
    return dict(zip(names, results, strict=True))
