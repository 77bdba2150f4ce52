"""Hit and miss counts of the caches worth watching, for a hit ratio on the dashboard.

:class:`CountingCache` wraps the app's cache and counts ``get`` by the key's namespace (the
part before the first ``:``), for the namespaces the app names only: the scene delivery facts
and the tile grant states that the signed fast path lives on. A miss there sends a signed
tile GET to the route and the database, so a falling hit ratio explains a latency rise.
Other keys (the token deny-list, replica stickiness) are presence checks, not caches: a
"miss" is their normal answer, so they are not counted. Naming the namespaces keeps the
label's values a fixed, small set whatever keys are asked for.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter

from spatialviz.kit.cache import Cache


class CountingCache:
    """A :class:`~spatialviz.kit.cache.Cache` that counts its gets in ``namespaces``."""

    def __init__(
        self, inner: Cache, registry: CollectorRegistry, namespaces: Iterable[str]
    ) -> None:
        self.inner = inner
        lookups = Counter(
            "spatialviz_cache_lookups_total",
            "Cache reads by cache (key namespace) and result (hit or miss)",
            ["cache", "result"],
            registry=registry,
        )
        self._counters = {
            name: (lookups.labels(name, "hit"), lookups.labels(name, "miss")) for name in namespaces
        }

    async def get(self, key: str) -> bytes | None:
        value = await self.inner.get(key)
        counters = self._counters.get(key.partition(":")[0])
        if counters is not None:
            counters[value is None].inc()
        return value

    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        await self.inner.set(key, value, ttl_seconds)

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)

    async def ping(self) -> None:
        await self.inner.ping()
