"""Fault drills: real faults injected into real services (kill -9 of Celery workers, a
private Redis stopped and started). Services mode only: embedded mode has no broker,
worker processes or Redis to break."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spatialviz.config import Settings
from spatialviz.kit.resources import Resources
from tests.conftest import SERVICES
from tests.job.workers import RabbitVhost, Worker

if not SERVICES:
    pytest.skip(
        "drills inject faults into real PostgreSQL/Redis/RabbitMQ/Celery: run them with "
        "SPATIALVIZ_TEST_SERVICES=1",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def vhost() -> Iterator[RabbitVhost]:
    own = RabbitVhost()
    yield own
    own.delete()


@pytest.fixture
def settings(settings: Settings, vhost: RabbitVhost) -> Settings:
    """Celery on RabbitMQ; fast heartbeats so a worker known gone loses its parts within
    seconds, while the limit for workers nobody can see stays wide (a busy machine)."""
    return settings.model_copy(
        update={
            "jobs_backend": "celery",
            "celery_broker_url": vhost.url,
            "jobs_heartbeat_seconds": 0.5,
            "jobs_lost_after_seconds": 2.0,
            "jobs_stale_after_seconds": 120.0,
            "jobs_reap_interval_seconds": 1.0,
            "jobs_requeue_after_seconds": 20.0,
            "jobs_progress_interval_seconds": 0.2,
            "scene_tiling_max_chunk_points": 25_000,
        }
    )


@pytest.fixture
def resources(app: object) -> Resources:
    found: Resources = app.state.resources  # type: ignore[attr-defined]
    return found


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.kill()
        print(f"--- {worker.log_path.name} (exit {worker.process.returncode})")
        print(worker.log_tail())
