"""Job tests run with short heartbeats so crash recovery takes seconds, not minutes.

Recovery in the tests comes from a worker known to be gone (``jobs_lost_after_seconds``);
the wide limit for workers the reaper cannot see stays wide, so a test machine busy enough
to delay heartbeats by many seconds never has a live job taken from its worker."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from spatialviz.config import Settings
from spatialviz.kit.resources import Resources

FAST_JOBS = {
    "jobs_heartbeat_seconds": 0.2,
    "jobs_stale_after_seconds": 120.0,
    "jobs_lost_after_seconds": 1.0,
    "jobs_reap_interval_seconds": 0.5,
    "jobs_progress_interval_seconds": 0.05,
    "jobs_requeue_after_seconds": 60.0,
    "jobs_embedded_workers": 2,
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update=FAST_JOBS)


@pytest.fixture
def resources(app: FastAPI) -> Resources:
    resources: Resources = app.state.resources
    return resources
