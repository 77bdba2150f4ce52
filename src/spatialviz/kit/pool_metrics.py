"""The API process's SQLAlchemy connection pools as gauges, read when Prometheus scrapes.

A collector rather than gauges kept up to date: the pool already counts its connections,
so reading ``size()``/``checkedout()``/``overflow()`` at scrape time is exact and costs
nothing between scrapes. Checked-out connections at size plus overflow means requests wait
up to the pool timeout (10 s) for a connection, then fail: the panel shows it coming.

Under ``serve --workers N`` (multiprocess mode) each worker has its own pools and a scrape
reaches one worker, which cannot read the others' pools. There :class:`LivePoolGauges` are
used instead: every worker copies its counts into gauges every
:data:`SAMPLE_INTERVAL_SECONDS` (and the worker answering a scrape just before it), and the
scrape adds up the live workers' values (``livesum``): the server's connections in use
against the server's pool capacity, as the dashboard compares them. A worker that exits
drops out of the sums. Summed, one worker's full pool among idle ones does not show as
full; overflow above 0 still says some worker went beyond its pool size. Per-worker series
(a ``pid`` label) were not chosen: workers are recycled, so the series would keep changing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

from prometheus_client import Gauge
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

#: Which engines to read now, by the ``database`` label (``primary``, ``replica``); empty
#: before the app has started.
Engines = Callable[[], dict[str, AsyncEngine]]


#: How stale a worker's pool gauges may be, in multiprocess mode.
SAMPLE_INTERVAL_SECONDS = 1.0

_HELP = {
    "size": ("spatialviz_db_pool_size", "Connections the pool keeps (overflow comes on top)"),
    "checked_out": ("spatialviz_db_pool_checked_out", "Connections in use by a session now"),
    "idle": ("spatialviz_db_pool_idle", "Open connections waiting in the pool"),
    "overflow": ("spatialviz_db_pool_overflow", "Connections open beyond the pool's size"),
}


def pool_counts(engine: AsyncEngine) -> dict[str, int] | None:
    pool = engine.pool
    # Every engine create_engine makes has a queue pool; another kind (a test's NullPool)
    # has no counts to give.
    if not isinstance(pool, QueuePool):
        return None
    return {
        "size": pool.size(),
        "checked_out": pool.checkedout(),
        "idle": pool.checkedin(),
        # Negative until the pool has opened its first `size` connections.
        "overflow": max(pool.overflow(), 0),
    }


class DatabasePoolCollector(Collector):
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    def collect(self) -> Iterator[Metric]:
        families = {
            key: GaugeMetricFamily(name, text, labels=["database"])
            for key, (name, text) in _HELP.items()
        }
        for name, engine in self._engines().items():
            counts = pool_counts(engine)
            for key, value in (counts or {}).items():
                families[key].add_metric([name], value)
        yield from families.values()


class LivePoolGauges:
    """The same four gauges, kept by each worker and summed over the live ones."""

    def __init__(self, engines: Engines) -> None:
        self._engines = engines
        self._gauges = {
            key: Gauge(name, text, ["database"], registry=None, multiprocess_mode="livesum")
            for key, (name, text) in _HELP.items()
        }

    def sample(self) -> None:
        for name, engine in self._engines().items():
            for key, value in (pool_counts(engine) or {}).items():
                self._gauges[key].labels(name).set(value)

    async def sample_forever(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(SAMPLE_INTERVAL_SECONDS)
