"""Job metrics: duration by kind and outcome, failures by error code, queue depth, and the
points tiled (tiling throughput)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from spatialviz.job.steps import Outcome, Step
from spatialviz.models.job import JobStatus

DURATION_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600)


class JobMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.duration = Histogram(
            "spatialviz_job_duration_seconds",
            "Time from a job's start to its end, by kind and outcome",
            ["kind", "outcome"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.failures = Counter(
            "spatialviz_job_failures_total",
            "Jobs that failed, by kind and error code",
            ["kind", "error_code"],
            registry=registry,
        )
        self.queued = Gauge(
            "spatialviz_jobs_queued",
            "Jobs waiting for a worker, by kind",
            ["kind"],
            registry=registry,
            # Every API worker sets the same depth (read from the database) each tick:
            # the latest wins, and a worker that exited stops counting.
            multiprocess_mode="livemostrecent",
        )
        # Labelled by kind only (a handful, from the registry): the scrape target already
        # says which worker; per-job or per-scene labels would grow without bound.
        self.points = Counter(
            "spatialviz_tiling_points_total",
            "Points tiled by this process's workers, by job kind (rate(): points per second)",
            ["kind"],
            registry=registry,
        )

    def observe(self, step: Step) -> None:
        if step.points and step.kind:
            self.points.labels(step.kind).inc(step.points)
        if step.outcome is not Outcome.finished or step.status is None:
            return
        self.duration.labels(step.kind, step.status.value).observe(step.duration_seconds)
        if step.status is JobStatus.failed:
            self.failures.labels(step.kind, step.error_code or "unknown").inc()

    def set_queue_depth(self, depth: dict[str, int], known_kinds: list[str]) -> None:
        for kind in set(known_kinds) | set(depth):
            self.queued.labels(kind).set(depth.get(kind, 0))
