"""The API process's SQLAlchemy connection pools as gauges, read when Prometheus scrapes.

A collector rather than gauges kept up to date: the pool already counts its connections,
so reading ``size()``/``checkedout()``/``overflow()`` at scrape time is exact and costs
nothing between scrapes. Checked-out connections at size plus overflow means requests wait
up to the pool timeout (10 s) for a connection, then fail: the panel shows it coming.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

#: Which engines to read now, by the ``database`` label (``primary``, ``replica``); empty
#: before the app has started.
Engines = Callable[[], dict[str, AsyncEngine]]


class DatabasePoolCollector(Collector):
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    def collect(self) -> Iterator[Metric]:
        families = {
            "size": GaugeMetricFamily(
                "spatialviz_db_pool_size",
                "Connections the pool keeps (overflow comes on top)",
                labels=["database"],
            ),
            "checked_out": GaugeMetricFamily(
                "spatialviz_db_pool_checked_out",
                "Connections in use by a session now",
                labels=["database"],
            ),
            "idle": GaugeMetricFamily(
                "spatialviz_db_pool_idle",
                "Open connections waiting in the pool",
                labels=["database"],
            ),
            "overflow": GaugeMetricFamily(
                "spatialviz_db_pool_overflow",
                "Connections open beyond the pool's size",
                labels=["database"],
            ),
        }
        for name, engine in self._engines().items():
            pool = engine.pool
            # Every engine create_engine makes has a queue pool; another kind (a test's
            # NullPool) has no counts to give.
            if not isinstance(pool, QueuePool):
                continue
            families["size"].add_metric([name], pool.size())
            families["checked_out"].add_metric([name], pool.checkedout())
            families["idle"].add_metric([name], pool.checkedin())
            # Negative until the pool has opened its first `size` connections.
            families["overflow"].add_metric([name], max(pool.overflow(), 0))
        yield from families.values()
