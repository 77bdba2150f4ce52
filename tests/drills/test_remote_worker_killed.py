"""Drill: kill -9 of a Celery worker on *another host* while it runs a single-stage job.

The API's reaper cannot see a process on another machine, so it waits the wide
``jobs_stale_after_seconds`` (300 s) before presuming such a worker lost: a CPU-starved
live worker must never lose its job. The fast path is the broker: RabbitMQ hands the dead
consumer's unacknowledged message back at once (marked redelivered), and the worker that
receives it takes the job over once the holder's heartbeat has stopped. The job then
completes exactly once, its loss counted as a worker loss, not as a failed attempt.

The workers run under host names of their own (UTS namespaces), which is what "another
machine" means to the liveness check. Figures printed here go to docs/operations.md."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from spatialviz.config import Settings
from spatialviz.kit.resources import Resources
from spatialviz.models.job import Job, JobStatus
from tests.conftest import SERVICES
from tests.drills.conftest import figure
from tests.drills.worker_drills import Clock
from tests.job.helpers import create_job, final, keys_under, make_workspace, wait_for
from tests.job.workers import RabbitVhost, Worker, can_pose_as_host

if not SERVICES:
    pytest.skip("drills run in services mode (SPATIALVIZ_TEST_SERVICES=1)", allow_module_level=True)

STEPS = 200
REMOTE_HOSTS = ("far-away-a", "far-away-b")


@pytest.fixture(scope="module")
def vhost() -> Iterator[RabbitVhost]:
    own = RabbitVhost()
    yield own
    own.delete()


@pytest.fixture
def settings(settings: Settings, vhost: RabbitVhost) -> Settings:
    """Celery on RabbitMQ with the production limit for workers nobody can see: the
    reaper alone would wait 300 s for the victim."""
    return settings.model_copy(
        update={
            "jobs_backend": "celery",
            "celery_broker_url": vhost.url,
            "jobs_heartbeat_seconds": 0.5,
            "jobs_lost_after_seconds": 2.0,
            "jobs_stale_after_seconds": 300.0,
            "jobs_reap_interval_seconds": 1.0,
            "jobs_requeue_after_seconds": 300.0,
            "jobs_progress_interval_seconds": 0.2,
        }
    )


@pytest.fixture
def resources(app: object) -> Resources:
    found: Resources = app.state.resources  # type: ignore[attr-defined]
    return found


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.kill()
        print(f"--- {worker.log_path.name} (exit {worker.process.returncode})")
        print(worker.log_tail())


def _host(job: Job) -> str | None:
    return (job.worker or "").rsplit(":", 2)[0] or None


def _held_by_a_worker(job: Job) -> bool:
    return job.status == JobStatus.running and job.progress >= 0.05 and _host(job) in REMOTE_HOSTS


async def test_remote_worker_killed_mid_job_is_rerun_exactly_once(
    resources: Resources, settings: Settings, workers: list[Worker], tmp_path: Path
) -> None:
    """Two workers, each on a host of its own (to the API and to each other, the other is
    remote); whichever takes the job is killed, the other is up and consuming already."""
    if not can_pose_as_host():
        pytest.skip("cannot start a process under another host name (no UTS namespace)")
    for host in REMOTE_HOSTS:
        workers.append(
            Worker(settings, tmp_path / f"{host}.log", beat=False, concurrency=1, host=host)
        )
    workspace = await make_workspace(resources)
    job_id: uuid.UUID = await create_job(
        resources, workspace, params={"steps": STEPS, "step_seconds": 0.05}
    )
    held = await wait_for(resources, job_id, _held_by_a_worker)
    victim = workers[REMOTE_HOSTS.index(str(_host(held)))]
    # Frozen first, so the job cannot end between looking and killing.
    os.killpg(victim.process.pid, signal.SIGSTOP)
    victim.kill()
    clock = Clock()

    rerun = await wait_for(
        resources, job_id, lambda job: job.attempts >= 2 or job.status.is_final, within=150
    )
    figure("remote_worker_killed_job_rerun_after_seconds", clock.seconds())
    assert _host(rerun) != _host(held)

    job = await wait_for(resources, job_id, final)
    assert job.status == JobStatus.succeeded, job.error_message
    # Once lost, once run: the loss is the worker's, the failed-attempt budget untouched.
    assert (job.attempts, job.worker_losses) == (2, 1)
    assert job.attempts - job.worker_losses == 1
    key = f"jobs/{job_id}/output/result.txt"
    assert keys_under(resources, job_id) == [key]
    lines = resources.storage.read_bytes(key).decode().splitlines()
    assert lines == [f"step {step} attempt 2" for step in range(STEPS)]
