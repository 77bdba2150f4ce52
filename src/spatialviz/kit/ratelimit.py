"""Rate limiting with the ``limits`` library: sliding-window counters, in Redis when
configured (shared by every API process), in process memory in embedded mode.

When the storage fails (Redis down), each limit decides for itself (docs/security.md):
``fail_open`` lets the request through and logs it; otherwise the request is refused with
503, so an outage never silently removes a defence that matters (password guessing).
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from limits import RateLimitItem, parse
from limits.aio.storage import (
    MemoryStorage,
    RedisClusterStorage,
    RedisSentinelStorage,
    RedisStorage,
    Storage,
)
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from spatialviz.config import Settings
from spatialviz.kit.errors import ServiceUnavailable, TooManyRequests
from spatialviz.kit.redis_topology import limits_storage_uri, topology

log = structlog.get_logger(__name__)

STORAGE_RETRY_AFTER_SECONDS = 5


class RateLimited(TooManyRequests):
    def __init__(self, retry_after: int, limit: str) -> None:
        super().__init__(
            f"Rate limit {limit} exceeded; retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


class RateLimitUnavailable(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__(
            "Rate limiting is unavailable, so this request cannot be accepted now",
            headers={"Retry-After": str(STORAGE_RETRY_AFTER_SECONDS)},
        )


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0


class RateLimiter:
    """One limiter per process, over one storage; limits are strings like ``"10/minute"``."""

    def __init__(self, storage: Storage, *, enabled: bool = True) -> None:
        self.storage = storage
        self.enabled = enabled
        self._strategy = SlidingWindowCounterRateLimiter(storage)
        self._items: dict[str, RateLimitItem] = {}

    def _item(self, limit: str) -> RateLimitItem:
        item = self._items.get(limit)
        if item is None:
            item = self._items[limit] = parse(limit)
        return item

    async def hit(self, limit: str, *identifiers: str) -> Decision:
        """Count one request; raises the storage's error when the storage is down."""
        if not self.enabled:
            return Decision(True)
        item = self._item(limit)
        if await self._strategy.hit(item, *identifiers):
            return Decision(True)
        stats = await self._strategy.get_window_stats(item, *identifiers)
        return Decision(False, max(1, math.ceil(stats.reset_time - time.time())))

    async def enforce(self, limit: str, *identifiers: str, fail_open: bool) -> None:
        """Raise 429 over the limit; on a storage failure, pass (fail open) or raise 503."""
        try:
            decision = await self.hit(limit, *identifiers)
        except Exception as exc:
            # limits wraps the client's error: name the one underneath, which says why.
            cause = exc.__cause__ or exc
            log.warning(
                "rate_limit_storage_error",
                error_type=type(cause).__name__,
                error=str(cause)[:200],
                fail_open=fail_open,
            )
            if fail_open:
                return
            raise RateLimitUnavailable() from exc
        if not decision.allowed:
            raise RateLimited(decision.retry_after, limit)

    async def aclose(self) -> None:
        closer: Any = getattr(self.storage, "aclose", None)
        if closer is not None:
            await closer()


STORAGE_KINDS: dict[str, type[RedisStorage]] = {
    "single": RedisStorage,
    "cluster": RedisClusterStorage,
    "sentinel": RedisSentinelStorage,
}


def one_retry() -> Retry:
    """A call that timed out or lost its connection is tried once more, on a new connection.

    limits builds single and Sentinel clients with ``from_url``, which gives them no retry,
    and the sign-in and sign-up limits fail closed: without this, one reply lost to a
    loaded host refuses the request with 503. A Redis that is down still fails fast (its
    refused connect is refused again at once); a hung one answers 503 after twice the
    timeout."""
    return Retry(NoBackoff(), 1)


def create_rate_limiter(settings: Settings) -> RateLimiter:
    storage: Storage
    if settings.redis_url:
        # A cluster too: the sliding-window scripts touch "{key}" and "{key}/-1", one slot.
        uri, options = limits_storage_uri(settings.redis_url, settings.redis_timeout_seconds)
        kind = STORAGE_KINDS[topology(settings.redis_url)]
        if kind is not RedisClusterStorage:  # a cluster client retries by itself
            options["retry"] = one_retry()
        storage = kind(
            uri,
            implementation="redispy",
            wrap_exceptions=True,
            key_prefix="sv:rl",
            socket_timeout=settings.redis_timeout_seconds,
            socket_connect_timeout=settings.redis_timeout_seconds,
            **options,
        )
    else:
        storage = MemoryStorage()
    return RateLimiter(storage, enabled=settings.rate_limit_enabled)


def get_rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.resources.rate_limiter
    return limiter


RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]


def client_ip(request: Request) -> str:
    """The peer address; behind nginx, uvicorn's proxy_headers puts the client's here."""
    return request.client.host if request.client else "unknown"


def limit_by_ip(
    scope: str, limit: Callable[[Settings], str], *, fail_open: bool = False
) -> Callable[[Request], Awaitable[None]]:
    """A route dependency counting requests per client IP under ``scope``::

    @router.post("/x", dependencies=[Depends(limit_by_ip("x", lambda s: s.rate_limit_auth))])
    """

    async def dependency(request: Request) -> None:
        settings: Settings = request.app.state.resources.settings
        limiter = get_rate_limiter(request)
        await limiter.enforce(limit(settings), scope, client_ip(request), fail_open=fail_open)

    return dependency
