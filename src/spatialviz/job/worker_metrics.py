"""``spatialviz worker --metrics-port``: the Celery worker's metrics, from every process.

The work runs in prefork pool processes, each with its own memory, while the metrics
endpoint is served by the main process: multiprocess mode (kit/multiproc_metrics.py) has
each pool process write its samples to files the endpoint adds up, so a pool process that
is replaced (killed, out of memory) keeps its counts in the totals. Celery tells nobody
when it replaces a pool process, so live gauges are cleaned at scrape time instead: those of
processes no longer running are dropped. (The worker exports no live gauge today: the queue
depth is the API's.)
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from pathlib import Path

from spatialviz.kit import multiproc_metrics


def serve_worker_metrics(port: int) -> None:
    # Before anything imports prometheus_client, and before Celery forks its pool.
    path = multiproc_metrics.start_fresh_dir()
    atexit.register(multiproc_metrics.remove_dir, path, os.getpid())

    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.core import Metric
    from prometheus_client.multiprocess import MultiProcessCollector
    from prometheus_client.registry import Collector

    class LiveProcesses(Collector):
        def __init__(self, path: Path) -> None:
            self._path = path
            self._files = MultiProcessCollector(None, str(path))  # type: ignore[no-untyped-call]

        def collect(self) -> Iterator[Metric]:
            multiproc_metrics.forget_dead_processes(self._path)
            yield from self._files.collect()  # type: ignore[no-untyped-call]

    registry = CollectorRegistry()
    registry.register(LiveProcesses(path))
    start_http_server(port, registry=registry)
