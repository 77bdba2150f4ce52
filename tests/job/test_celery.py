"""The production runner: real Celery worker processes, a real RabbitMQ broker (a virtual
host of this module's own; one test uses a Redis broker), real PostgreSQL. Services mode
only (embedded mode has no broker to test)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from spatialviz.app import create_app
from spatialviz.config import Settings
from spatialviz.job.celery_app import RUN_TASK, create_celery
from spatialviz.job.service import JobService
from spatialviz.kit.db import transaction
from spatialviz.kit.resources import Resources
from spatialviz.kit.tenancy import Principal
from spatialviz.models.job import JobStatus
from spatialviz.models.workspace import Role
from tests.conftest import SERVICES
from tests.dataset.helpers import csv_bytes
from tests.factories import register_and_sign_in
from tests.job.helpers import (
    create_job,
    final,
    keys_under,
    make_workspace,
    running_with_progress,
    wait_for,
)
from tests.job.workers import RabbitVhost, ThrowawayRedis, Worker, Workers, free_port
from tests.processes import live_children
from tests.scene_api.helpers import ready_scene

pytestmark = pytest.mark.skipif(not SERVICES, reason="needs a broker: services mode")


@pytest.fixture(scope="module")
def vhost() -> Iterator[RabbitVhost]:
    if not SERVICES:
        pytest.skip("needs a broker: services mode")
    own = RabbitVhost()
    yield own
    own.delete()


@pytest.fixture
def requeue_after() -> float:
    """A message lost anywhere is sent again after 5 s (the reaper's safety net)."""
    return 5.0


@pytest.fixture
def settings(settings: Settings, vhost: RabbitVhost, requeue_after: float) -> Settings:
    return settings.model_copy(
        update={
            "jobs_backend": "celery",
            "celery_broker_url": vhost.url,
            "jobs_requeue_after_seconds": requeue_after,
        }
    )


@pytest.fixture
def broker(settings: Settings) -> Iterator[None]:
    """Each test starts and ends with empty queues."""
    celery = create_celery(settings)
    celery.control.purge()
    yield
    celery.control.purge()
    celery.close()


@pytest.fixture
def workers(settings: Settings, tmp_path: Path, broker: None) -> Iterator[Workers]:
    started = Workers(tmp_path)
    yield started
    started.kill_all()


def _owner(workspace_id: uuid.UUID) -> Principal:
    return Principal(user_id=uuid.uuid4(), roles={workspace_id: Role.owner})


async def test_worker_killed_mid_job_is_redelivered_once(
    resources: Resources, settings: Settings, workers: Workers, tmp_path: Path
) -> None:
    first = workers.start(settings)
    workspace = await make_workspace(resources)
    job_id = await create_job(resources, workspace, params={"steps": 20, "step_seconds": 0.1})
    await wait_for(resources, job_id, running_with_progress(0.2))
    first.kill()

    workers.start(settings)
    job = await wait_for(resources, job_id, final)
    assert job.status == JobStatus.succeeded, job.error_message
    assert job.attempts == 2
    key = f"jobs/{job_id}/output/result.txt"
    assert keys_under(resources, job_id) == [key]
    lines = resources.storage.read_bytes(key).decode().splitlines()
    assert len(lines) == 20
    assert all(line.endswith("attempt 2") for line in lines)


async def test_worker_metrics_add_up_every_pool_process_and_outlive_them(
    resources: Resources, settings: Settings, workers: Workers
) -> None:
    """The pool processes run the jobs and count them; the main process serves /metrics
    from all of their files (multiprocess mode). Pool processes killed and replaced by
    Celery: their counts stay."""
    port = free_port()
    worker = workers.start(settings, beat=False, metrics_port=port)
    workspace = await make_workspace(resources)
    jobs = [await create_job(resources, workspace, params={"steps": 1}) for _ in range(4)]
    for job_id in jobs:
        assert (await wait_for(resources, job_id, final)).status == JobStatus.succeeded

    def finished() -> float:
        scrape = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
        name = "spatialviz_job_duration_seconds_count"
        return sum(
            sample.value
            for family in text_string_to_metric_families(scrape)
            for sample in family.samples
            if sample.name == name and sample.labels["kind"] == "example.sleep"
        )

    # A job is counted just after it is marked final: wait for the last one.
    await _until(lambda: finished() == 4)
    pool = set(_pool_processes(worker))
    assert len(pool) == 2
    for pid in pool:
        os.kill(pid, signal.SIGKILL)
    await _until(lambda: len(_pool_processes(worker) - pool) == 2)
    assert finished() == 4


def _pool_processes(worker: Worker) -> set[int]:
    return live_children(psutil.Process(worker.process.pid))


async def _until(condition: Callable[[], bool], within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.2)


async def test_same_job_enqueued_three_times_has_one_effect(
    resources: Resources, settings: Settings, workers: Workers, tmp_path: Path
) -> None:
    workspace = await make_workspace(resources)
    params = {"steps": 5, "step_seconds": 0.1}
    ids = {
        await create_job(resources, workspace, params=params, idempotency_key="same")
        for _ in range(3)
    }
    assert len(ids) == 1
    job_id = ids.pop()
    celery = create_celery(settings)
    for _ in range(3):  # the same message delivered again, on top
        celery.send_task(RUN_TASK, args=[str(job_id)], queue="light")
    celery.close()
    workers.start(settings)
    job = await wait_for(resources, job_id, final)
    assert job.status == JobStatus.succeeded
    assert job.attempts == 1
    output = resources.storage.read_bytes(f"jobs/{job_id}/output/result.txt")
    assert output.count(b"\n") == 5


async def test_cancel_during_a_long_job(
    resources: Resources, settings: Settings, workers: Workers, tmp_path: Path
) -> None:
    workers.start(settings)
    workspace = await make_workspace(resources)
    job_id = await create_job(resources, workspace, params={"steps": 1200, "step_seconds": 0.05})
    await wait_for(resources, job_id, running_with_progress(0.02))
    async with transaction(resources.sessions) as session:
        await JobService(session, resources.jobs, resources.pubsub).cancel(
            _owner(workspace), job_id
        )
    job = await wait_for(resources, job_id, final)
    assert job.status == JobStatus.cancelled
    assert keys_under(resources, job_id) == []


async def test_fanout_runs_as_a_chord(
    resources: Resources, settings: Settings, workers: Workers, tmp_path: Path
) -> None:
    workers.start(settings)
    workspace = await make_workspace(resources)
    job_id = await create_job(resources, workspace, "example.fanout", {"n": 1000, "chunks": 5})
    job = await wait_for(resources, job_id, final)
    assert job.status == JobStatus.succeeded, job.error_message
    assert job.result is not None
    assert job.result["total"] == sum(range(1000))
    assert len(keys_under(resources, job_id)) == 6


# The reapers (the app's and the workers' beat) re-send a queued job only after an hour
# here: the worker that released the job must send it again itself.
@pytest.mark.parametrize("requeue_after", [3600.0])
async def test_a_retryable_error_in_a_part_sends_the_job_again(
    resources: Resources, settings: Settings, workers: Workers, tmp_path: Path
) -> None:
    workers.start(settings)
    workspace = await make_workspace(resources)
    params = {"n": 100, "chunks": 4, "first_part_flaky_attempts": 1}
    job_id = await create_job(resources, workspace, "example.fanout", params)
    job = await wait_for(resources, job_id, final)
    assert job.status == JobStatus.succeeded, job.error_message
    assert job.attempts == 2
    assert job.result is not None
    assert job.result["total"] == sum(range(100))


@pytest.fixture
async def own_redis() -> AsyncIterator[ThrowawayRedis]:
    server = await asyncio.to_thread(ThrowawayRedis)
    yield server
    server.kill()


async def test_redis_restarted_while_a_job_runs(
    settings: Settings, own_redis: ThrowawayRedis, tmp_path: Path
) -> None:
    isolated = settings.model_copy(
        update={
            "redis_url": f"{own_redis.url}/0",
            "celery_broker_url": f"{own_redis.url}/1",
            "jobs_requeue_after_seconds": 5.0,
        }
    )
    workers = Workers(tmp_path)
    app: FastAPI = create_app(isolated)
    try:
        async with app.router.lifespan_context(app):
            resources: Resources = app.state.resources
            workers.start(isolated)
            workspace = await make_workspace(resources)
            params = {"steps": 20, "step_seconds": 0.1}
            job_id = await create_job(resources, workspace, params=params)
            await wait_for(resources, job_id, running_with_progress(0.2))

            await asyncio.to_thread(own_redis.kill)
            await asyncio.sleep(1.0)
            await asyncio.to_thread(own_redis.start)

            job = await wait_for(resources, job_id, final)
            assert job.status == JobStatus.succeeded, job.error_message
            # Celery 5.7 / kombu's Redis transport can exit the worker ("Unrecoverable
            # error", AttributeError while closing the lost connection) when the broker
            # drops with a late-ack task in flight. It exits loudly rather than hanging;
            # the process supervisor (compose restart policy, Kubernetes) starts it again,
            # as this test does.
            if await asyncio.to_thread(workers[0].exited_within, 20.0):
                workers.start(isolated)
            # Nothing hangs: the API reconnects, and new jobs still run.
            after = await create_job(resources, workspace, params={"steps": 2})
            job = await wait_for(resources, after, final)
            assert job.status == JobStatus.succeeded, job.error_message
    finally:
        workers.kill_all()


async def test_scene_tiling_spreads_chunks_over_celery_workers(
    client: httpx.AsyncClient, settings: Settings, workers: Workers, tmp_path: Path
) -> None:
    """A scene's tiling fans out: chunks indexed by whichever worker takes them, merged
    into one tileset."""
    settings.scene_tiling_max_chunk_points = 1000
    workers.start(settings)
    workers.start(settings)
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"], data=csv_bytes(5000))
    job = (await client.get(f"/api/v1/jobs/{scene['job_id']}", headers=headers)).json()
    assert job["status"] == "succeeded"
    assert job["result"]["chunks"] > 1
    assert job["result"]["points"] == 5000
