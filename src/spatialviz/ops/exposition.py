"""What ``/metrics`` renders: the app's registry in one process (``spatialviz serve``,
tests), or every worker's samples aggregated under ``serve --workers N``
(kit/multiproc_metrics.py). The metrics computed when scraped differ between the two:

- the backup record is read by whichever process answers, and reported once (the same
  record for every worker);
- the database pools: read at scrape time in one process; in multiprocess mode each worker
  keeps live gauges of its own pools, summed over the live workers (kit/pool_metrics.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from spatialviz.kit import multiproc_metrics
from spatialviz.kit.pool_metrics import DatabasePoolCollector, Engines, LivePoolGauges
from spatialviz.ops.backup_status import BackupMetrics


@dataclass(frozen=True)
class Exposition:
    registry: CollectorRegistry
    backup: BackupMetrics
    #: Multiprocess mode only: this worker's pool gauges, to sample.
    live_pools: LivePoolGauges | None


def install_metrics(app_registry: CollectorRegistry, engines: Engines) -> Exposition:
    backup = BackupMetrics()
    if multiproc_metrics.enabled():
        # Metrics registered in app_registry write to files; the collectors here would not
        # be aggregated (they are in this process only), so they go on the scrape's registry.
        registry = multiproc_metrics.aggregated_registry(backup)
        return Exposition(registry, backup, LivePoolGauges(engines))
    app_registry.register(backup)
    app_registry.register(DatabasePoolCollector(engines))
    return Exposition(app_registry, backup, None)
