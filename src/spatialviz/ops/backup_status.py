"""When the last backup succeeded, and how big it was, for the backup-age alert.

``spatialviz backup`` runs wherever cron or a Kubernetes CronJob starts it, and exits: no
scrape can reach it. What it shares with the API servers is the blob storage (the volume in
compose, the bucket or volume in Kubernetes), so on success it writes a small record there
(:data:`STATUS_KEY`), and every API server exports it on ``/metrics``:
``spatialviz_backup_last_success_timestamp_seconds`` (0: no backup has succeeded yet) and
``spatialviz_backup_last_size_bytes``. The key is in a dot-folder, which backups skip and
``restore`` does not count as data, so a restored system starts with no backup of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import structlog
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from spatialviz.kit.storage import BlobNotFound, BlobStorage

STATUS_KEY = ".ops/last-backup.json"
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class BackupRecord:
    finished_at: float  # Unix seconds
    size_bytes: int


def record_success(storage: BlobStorage, record: BackupRecord) -> None:
    data = {"finished_at": record.finished_at, "size_bytes": record.size_bytes}
    storage.put_bytes(STATUS_KEY, json.dumps(data).encode())


def last_success(storage: BlobStorage) -> BackupRecord | None:
    try:
        data = json.loads(storage.read_bytes(STATUS_KEY))
    except BlobNotFound:
        return None
    return BackupRecord(float(data["finished_at"]), int(data["size_bytes"]))


class BackupMetrics(Collector):
    """The two gauges, as a collector of what :meth:`refresh` last read. Not gauges kept in
    the process: under ``serve --workers N`` (multiprocess mode) a gauge is per process, so
    whichever worker answers a scrape reads the record and reports it, once, unlabelled;
    every worker would read the same record."""

    def __init__(self) -> None:
        self._finished_at = 0.0
        self._size = 0.0

    def refresh(self, storage: BlobStorage) -> None:
        """Read the record (blocking: call it in a thread). An unreadable record keeps the
        last values, so a storage hiccup does not look like a missing backup."""
        try:
            record = last_success(storage)
        except Exception as exc:
            log.warning("backup_status_unreadable", error=repr(exc))
            return
        self._finished_at = record.finished_at if record else 0.0
        self._size = float(record.size_bytes) if record else 0.0

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "spatialviz_backup_last_success_timestamp_seconds",
            "When `spatialviz backup` last succeeded, Unix seconds (0: never)",
            value=self._finished_at,
        )
        yield GaugeMetricFamily(
            "spatialviz_backup_last_size_bytes",
            "Size of the last successful backup file",
            value=self._size,
        )
