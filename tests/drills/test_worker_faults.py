"""Drills: a Celery worker killed with kill -9 while it runs a tiling part, and the Redis
the workers and the API use stopped in the middle of a fan-out. Each ends with the scene
holding exactly its input's points, tiled in the job's first attempt (a lost part costs
that part, never a re-tile). The figures printed here are the ones docs/operations.md
reports."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from spatialviz.app import create_app
from spatialviz.config import Settings
from spatialviz.job.leftovers import scratch_root, sweep_leftovers, tiling_work_base
from spatialviz.kit.resources import Resources
from spatialviz.models.job import JobStatus
from spatialviz.models.job_part import REDUCE_POSITION, JobPart, PartStatus
from tests.conftest import SERVICES
from tests.dataset.helpers import las_bytes, upload, wait_for_dataset
from tests.drills.worker_drills import (
    Clock,
    completions_held,
    freeze_worker_at_work,
    tileset_row_ids,
)
from tests.factories import register_and_sign_in
from tests.formats.bombs import arrow_zstd_bomb, geojson_nesting_bomb
from tests.job.helpers import final, load_job, load_parts, wait_for, wait_for_parts
from tests.job.workers import RabbitVhost, ThrowawayRedis, Worker, Workers
from tests.scene_api.helpers import create_scene, ready_dataset, wait_for_scene

if not SERVICES:
    pytest.skip(
        "drills inject faults into real PostgreSQL/Redis/RabbitMQ/Celery: run them with "
        "SPATIALVIZ_TEST_SERVICES=1",
        allow_module_level=True,
    )

POINTS = 200_000  # parts of at most 25,000 points


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
def workers(tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    yield started
    started.kill_all()


def start(workers: Workers, settings: Settings) -> Worker:
    """One pool process each, so a killed worker takes exactly the parts it runs; the first
    runs the beat."""
    return workers.start(settings, beat=not workers, concurrency=1)


async def _scene_job(client: httpx.AsyncClient) -> tuple[dict[str, str], str, uuid.UUID]:
    user, headers = await register_and_sign_in(client)
    dataset = await ready_dataset(
        client, headers, user["personal_workspace_id"], las_bytes(POINTS), "points.las"
    )
    created = await create_scene(client, headers, dataset["id"])
    return headers, created["scene"]["id"], uuid.UUID(created["job"]["id"])


async def _assert_every_point_once(
    client: httpx.AsyncClient, headers: dict[str, str], scene_id: str
) -> None:
    scene = await wait_for_scene(client, headers, scene_id)
    assert scene["status"] == "ready", scene
    row_ids = await tileset_row_ids(client, scene)
    assert len(row_ids) == POINTS
    assert np.array_equal(np.sort(np.asarray(row_ids)), np.arange(POINTS))


async def test_worker_killed_mid_part_reruns_that_part_only(
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    workers: Workers,
    tmp_path: Path,
) -> None:
    start(workers, settings)
    start(workers, settings)
    async with completions_held(resources):
        headers, scene_id, job_id = await _scene_job(client)
        victim = await freeze_worker_at_work(resources, job_id, workers)
    victim.worker.kill()
    clock = Clock()
    lost = {p.position: p.tries for p in victim.parts}

    # Each lost part is taken again (a higher fence) by the surviving worker.
    await wait_for_parts(
        resources,
        job_id,
        lambda parts: (
            not parts or all(p.tries > lost[p.position] for p in parts if p.position in lost)
        ),
        within=60,
    )
    rerun_after = clock.seconds()
    job = await wait_for(resources, job_id, final, within=120)
    print(
        f"drill: part(s) {sorted(lost)} re-run {rerun_after} s after the kill; "
        f"scene done {clock.seconds()} s after the kill"
    )
    assert job.status == JobStatus.succeeded, job.error_message
    assert (job.attempts, job.worker_losses) == (1, 0)  # no re-tile
    assert job.result is not None
    assert job.result["points"] == POINTS
    await _assert_every_point_once(client, headers, scene_id)


@pytest.fixture
async def workers_redis() -> AsyncIterator[ThrowawayRedis]:
    server = await asyncio.to_thread(ThrowawayRedis)
    yield server
    server.kill()


async def test_redis_stopped_mid_fanout_loses_no_part(
    settings: Settings, workers_redis: ThrowawayRedis, workers: Workers, tmp_path: Path
) -> None:
    """The workers' and the API's Redis (cache, pub/sub, Celery result backend) is a
    private one this test stops while parts run and starts again once parts have
    finished during the outage."""
    isolated = settings.model_copy(
        update={
            "redis_url": f"{workers_redis.url}/0",
            "celery_result_backend": f"{workers_redis.url}/1",
        }
    )
    start(workers, isolated)
    start(workers, isolated)
    app = create_app(isolated)
    async with app.router.lifespan_context(app):
        resources: Resources = app.state.resources
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            async with completions_held(resources):  # so Redis stops mid-fan-out
                headers, scene_id, job_id = await _scene_job(client)
                await wait_for_parts(
                    resources,
                    job_id,
                    lambda ps: any(p.status == PartStatus.running for p in ps),
                )
                await asyncio.to_thread(workers_redis.kill)
            before = {
                p.position
                for p in await load_parts(resources, job_id)
                if p.status == PartStatus.done
            }

            def more_done_or_over(parts: Sequence[JobPart]) -> bool:
                done = {
                    p.position
                    for p in parts
                    if p.status == PartStatus.done and p.position != REDUCE_POSITION
                }
                return not parts or len(done - before) > 0

            # Parts go on finishing with Redis down: nothing of theirs needs it.
            await wait_for_parts(resources, job_id, more_done_or_over, within=60)
            await asyncio.to_thread(workers_redis.start)
            clock = Clock()
            job = await wait_for(resources, job_id, final, within=30)
            print(f"drill: scene job final {clock.seconds()} s after Redis returned")
            assert job.status == JobStatus.succeeded, job.error_message
            assert (job.attempts, job.worker_losses) == (1, 0)
            assert (await load_job(resources, job_id)).result is not None
            await _assert_every_point_once(client, headers, scene_id)


def _leftovers(settings: Settings) -> list[str]:
    """Everything a worker keeps on local disk for a job (job/leftovers.py)."""
    roots = [scratch_root(settings), tiling_work_base(settings)]
    return sorted(str(p) for root in roots if root.is_dir() for p in root.iterdir())


async def test_worker_killed_mid_tiling_leaves_nothing_after_the_sweep(
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    workers: Workers,
    tmp_path: Path,
) -> None:
    start(workers, settings)
    async with completions_held(resources):
        headers, scene_id, job_id = await _scene_job(client)
        scratch = scratch_root(settings) / f"job-{job_id}-"
        victim = await freeze_worker_at_work(resources, job_id, workers, scratch_prefix=scratch)
    victim.worker.kill()
    left = _leftovers(settings)
    # the killed attempt's scratch directory and the job's tiling work are on disk
    assert any(Path(p).name.startswith(f"job-{job_id}-") for p in left), left
    assert str(tiling_work_base(settings) / str(job_id)) in left

    start(workers, settings)  # finishes the job (its lost part, then the reduce)
    job = await wait_for(resources, job_id, final, within=120)
    assert job.status == JobStatus.succeeded, job.error_message
    await _assert_every_point_once(client, headers, scene_id)
    for worker in workers[1:]:
        worker.stop()  # no attempt of its own may be running while we look

    at_once = settings.model_copy(update={"storage_tmp_max_age_seconds": 0.0})
    swept = await sweep_leftovers(at_once, resources.sessions)
    print(f"drill: after the kill {len(left)} leftovers; swept {swept}")
    assert _leftovers(settings) == []
    assert resources.storage.sweep_temporary(0.0).items >= 0
    tmp = Path(settings.storage_url.removeprefix("file://")) / ".tmp"
    assert not tmp.is_dir() or list(tmp.iterdir()) == []


async def _ingested_by(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    resources: Resources,
    upload_args: tuple[str, bytes, str],
) -> tuple[dict[str, Any], int]:
    """Upload and wait for the ingest; the dataset and the pid of the process that ran it."""
    workspace, data, name = upload_args
    response = await upload(client, headers, workspace, data, name)
    assert response.status_code == 202, response.text
    body = response.json()
    dataset = await wait_for_dataset(client, headers, body["dataset"]["id"], within=240)
    job = await load_job(resources, uuid.UUID(body["job"]["id"]))
    assert job.worker is not None
    assert job.attempts == 1  # a refusal is final, never retried
    return dataset, int(job.worker.rsplit(":", 2)[1])


def _peak_mib(pid: int) -> float:
    """The process's peak resident memory (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for {pid}")


_WARM_GEOJSON = (
    b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": '
    b'{"type": "Point", "coordinates": [1, 2, 3]}, "properties": {"a": 1}}]}'
)


async def test_hostile_files_keep_the_ingest_worker_under_300_mb(
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    workers: Workers,
    tmp_path: Path,
) -> None:
    """A GeoJSON nesting bomb (400 KB, 200,000 levels) and a 13 KB Arrow file of 400 MB of
    Zstandard-compressed zeros, ingested by a real Celery worker: both jobs fail at once
    with their code, and the pool process's peak memory grows by less than 300 MB over a
    warm-up that read each format for real."""
    start(workers, settings)
    user, headers = await register_and_sign_in(client)
    workspace = user["personal_workspace_id"]
    warm_arrow = arrow_zstd_bomb(tmp_path / "warm.arrow", 10_000).read_bytes()
    await _ingested_by(client, headers, resources, (workspace, _WARM_GEOJSON, "warm.geojson"))
    _, pool = await _ingested_by(client, headers, resources, (workspace, warm_arrow, "w.arrow"))
    before = _peak_mib(pool)

    bomb = arrow_zstd_bomb(tmp_path / "bomb.arrow", 400 * 1024 * 1024 // 24).read_bytes()
    hostile = [
        ("deep.geojson", geojson_nesting_bomb(), "nesting_too_deep"),
        ("bomb.arrow", bomb, "decompression_bomb"),
    ]
    for name, data, code in hostile:
        dataset, ran_in = await _ingested_by(client, headers, resources, (workspace, data, name))
        assert (dataset["status"], dataset["error_code"]) == ("failed", code), dataset
        assert ran_in == pool  # the same process: its peak says it all

    extra = round(_peak_mib(pool) - before, 1)
    print(
        f"drill: hostile files: worker peak +{extra} MiB (sizes {[len(d) for _, d, _ in hostile]})"
    )
    assert extra < 300


async def test_a_starved_worker_keeps_its_part(
    client: httpx.AsyncClient, resources: Resources, settings: Settings, workers: Workers
) -> None:
    """A worker that gets no CPU at all (frozen with SIGSTOP, the extreme of a busy
    machine) for five times the lost-worker window keeps its running part: the reaper sees
    its process alive on this host. Once it runs again the job finishes in its first
    attempt with every point once."""
    start(workers, settings)
    start(workers, settings)
    async with completions_held(resources):
        headers, scene_id, job_id = await _scene_job(client)
        victim = await freeze_worker_at_work(resources, job_id, workers)
    held = {p.position: p.tries for p in victim.parts}
    starved_for = 5 * settings.jobs_lost_after_seconds
    await asyncio.sleep(starved_for)  # the fault itself: this long without CPU
    parts = {p.position: p for p in await load_parts(resources, job_id)}
    kept = {pos: (parts[pos].tries, parts[pos].status) for pos in held}
    os.killpg(victim.worker.process.pid, signal.SIGCONT)
    print(f"drill: starved {starved_for} s; parts held {held} -> {kept}")
    assert kept == {pos: (tries, PartStatus.running) for pos, tries in held.items()}
    job = await wait_for(resources, job_id, final, within=120)
    assert job.status == JobStatus.succeeded, job.error_message
    assert (job.attempts, job.worker_losses) == (1, 0)
    await _assert_every_point_once(client, headers, scene_id)
