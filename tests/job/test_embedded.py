"""The job runner end to end in embedded mode (the app's process pool), in both test modes:
SQLite + in-process pub/sub, or PostgreSQL + Redis pub/sub."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from spatialviz.app import create_app
from spatialviz.config import Settings
from spatialviz.job.schemas import job_channel
from spatialviz.job.service import JobService
from spatialviz.kit.db import transaction
from spatialviz.kit.resources import Resources
from spatialviz.kit.tenancy import Principal
from spatialviz.models.job import JobStatus
from spatialviz.models.job_part import PartStatus
from spatialviz.models.workspace import Role
from tests.job.helpers import (
    RecordingQueue,
    create_job,
    final,
    keys_under,
    load_job,
    make_workspace,
    running_with_progress,
    wait_for,
    wait_for_parts,
)


async def test_job_runs_reports_progress_and_publishes_one_output(resources: Resources) -> None:
    workspace = await make_workspace(resources)
    job_id = await create_job(resources, workspace, params={"steps": 4, "step_seconds": 0.05})
    job = await wait_for(resources, job_id, final)
    assert job.status == JobStatus.succeeded, job.error_message
    assert job.progress == 1.0
    assert job.attempts == 1
    key = f"jobs/{job_id}/output/result.txt"
    assert job.result == {"key": key, "steps": 4}
    assert keys_under(resources, job_id) == [key]
    assert resources.storage.read_bytes(key).count(b"\n") == 4


async def test_fanout_job_prepares_maps_and_reduces(resources: Resources) -> None:
    workspace = await make_workspace(resources)
    job_id = await create_job(resources, workspace, "example.fanout", {"n": 100, "chunks": 4})
    job = await wait_for(resources, job_id, final)
    assert job.status == JobStatus.succeeded, job.error_message
    assert job.result is not None
    assert job.result["total"] == sum(range(100))
    assert job.result["parts"] == 4
    keys = keys_under(resources, job_id)
    assert len(keys) == 5
    assert f"jobs/{job_id}/output/total.txt" in keys


async def test_failure_is_recorded_and_partial_output_removed(resources: Resources) -> None:
    workspace = await make_workspace(resources)
    params = {"steps": 5, "step_seconds": 0.01, "fail_at": 2}
    job_id = await create_job(resources, workspace, params=params)
    job = await wait_for(resources, job_id, final)
    assert job.status == JobStatus.failed
    assert job.error_code == "example_failure"
    assert "step 2" in (job.error_message or "")
    assert keys_under(resources, job_id) == []


async def test_rollback_sends_nothing(resources: Resources) -> None:
    queue = RecordingQueue()
    workspace = await make_workspace(resources)

    async def create_then_fail() -> None:
        async with transaction(resources.sessions) as session:
            await JobService(session, queue, resources.pubsub).create(
                workspace_id=workspace, kind="example.sleep"
            )
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await create_then_fail()
    assert queue.sent == []

    async with transaction(resources.sessions) as session:
        job = await JobService(session, queue, resources.pubsub).create(
            workspace_id=workspace, kind="example.sleep"
        )
        assert queue.sent == []  # not before the commit
    assert queue.sent == [(job.id, "light")]


async def test_same_job_enqueued_three_times_has_one_effect(resources: Resources) -> None:
    workspace = await make_workspace(resources)
    params = {"steps": 5, "step_seconds": 0.05}
    ids = [
        await create_job(resources, workspace, params=params, idempotency_key="import-1")
        for _ in range(3)
    ]
    assert len(set(ids)) == 1
    job_id = ids[0]
    # ...and the same job delivered three times more, concurrently.
    for _ in range(3):
        await resources.jobs.enqueue(job_id, "light")
    job = await wait_for(resources, job_id, final)
    assert job.status == JobStatus.succeeded
    assert job.attempts == 1
    output = resources.storage.read_bytes(f"jobs/{job_id}/output/result.txt")
    assert output.count(b"\n") == 5


async def test_cancel_during_a_long_job(resources: Resources) -> None:
    workspace = await make_workspace(resources)
    job_id = await create_job(resources, workspace, params={"steps": 1200, "step_seconds": 0.05})
    await wait_for(resources, job_id, running_with_progress(0.02))
    job = await load_job(resources, job_id)
    principal = _owner_of(job.workspace_id)
    async with transaction(resources.sessions) as session:
        await JobService(session, resources.jobs, resources.pubsub).cancel(principal, job_id)
    job = await wait_for(resources, job_id, final)
    assert job.status == JobStatus.cancelled
    assert keys_under(resources, job_id) == []


async def test_queued_job_cancelled_at_once(resources: Resources) -> None:
    queue = RecordingQueue()
    workspace = await make_workspace(resources)
    async with transaction(resources.sessions) as session:
        service = JobService(session, queue, resources.pubsub)
        job = await service.create(workspace_id=workspace, kind="example.sleep")
    async with transaction(resources.sessions) as session:
        service = JobService(session, queue, resources.pubsub)
        cancelled = await service.cancel(_owner_of(workspace), job.id)
        assert cancelled.status == JobStatus.cancelled


async def test_progress_and_final_state_are_published(resources: Resources) -> None:
    workspace = await make_workspace(resources)
    queue = RecordingQueue()
    async with transaction(resources.sessions) as session:
        job = await JobService(session, queue, resources.pubsub).create(
            workspace_id=workspace, kind="example.sleep", params={"steps": 4}
        )
    seen: list[bytes] = []
    async with resources.pubsub.subscribe(job_channel(job.id)) as messages:
        await resources.jobs.enqueue(job.id, "light")

        async def collect() -> None:
            async for _, data in messages:
                seen.append(data)
                if b'"status":"succeeded"' in data:
                    return

        await asyncio.wait_for(collect(), 30)
    assert any(b'"status":"running"' in m for m in seen)


async def test_server_restarted_mid_job_resumes_it(settings: Settings) -> None:
    first = create_app(settings)
    async with first.router.lifespan_context(first):
        resources: Resources = first.state.resources
        workspace = await make_workspace(resources)
        params = {"steps": 30, "step_seconds": 0.05}
        job_id = await create_job(resources, workspace, params=params)
        await wait_for(resources, job_id, running_with_progress(0.1))
    # The first server is gone (its pool processes killed) with the job still `running`.
    second: FastAPI = create_app(settings)
    async with second.router.lifespan_context(second):
        resources = second.state.resources
        assert (await load_job(resources, job_id)).attempts == 1
        job = await wait_for(resources, job_id, final)
        assert job.status == JobStatus.succeeded, job.error_message
        assert job.attempts == 2
        key = f"jobs/{job_id}/output/result.txt"
        assert keys_under(resources, job_id) == [key]
        lines = resources.storage.read_bytes(key).decode().splitlines()
        assert len(lines) == 30
        assert all(line.endswith("attempt 2") for line in lines)


def _owner_of(workspace_id: uuid.UUID) -> Principal:
    return Principal(user_id=uuid.uuid4(), roles={workspace_id: Role.owner})


async def test_job_metrics_are_exported(resources: Resources, client: httpx.AsyncClient) -> None:
    workspace = await make_workspace(resources)
    job_id = await create_job(resources, workspace, params={"steps": 1, "fail_at": 0})
    await wait_for(resources, job_id, final)
    # The runner records the metric once the pool process's answer is back, which may be a
    # moment after the row says "failed": poll, never assume promptness.
    body = await _metrics_once_they_show(
        client, 'spatialviz_job_duration_seconds_count{kind="example.sleep",outcome="failed"}'
    )
    assert (
        'spatialviz_job_duration_seconds_count{kind="example.sleep",outcome="failed"} 1.0' in body
    )
    assert (
        'spatialviz_job_failures_total{error_code="example_failure",kind="example.sleep"} 1.0'
        in body
    )


async def _metrics_once_they_show(client: httpx.AsyncClient, series: str) -> str:
    deadline = time.monotonic() + 120
    while True:
        body = (await client.get("/metrics")).text
        if series in body or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.05)


async def test_fanout_parts_waiting_behind_other_work_do_not_restart_the_job(
    settings: Settings,
) -> None:
    """One pool process: the fan-out's parts queue behind a job that runs for twice the
    stale-heartbeat limit. Nothing of the fan-out runs meanwhile, yet it is not presumed
    lost: its parts are pending in the ledger, not silent, so it finishes on its first
    attempt (and the blocker, silent no more than its live process, keeps its worker)."""
    one_worker = settings.model_copy(
        update={"jobs_embedded_workers": 1, "jobs_stale_after_seconds": 3.0}
    )
    app = create_app(one_worker)
    async with app.router.lifespan_context(app):
        resources: Resources = app.state.resources
        workspace = await make_workspace(resources)
        params = {"n": 100, "chunks": 2, "prepare_seconds": 5.0}
        fanout = await create_job(resources, workspace, "example.fanout", params)
        await wait_for(resources, fanout, lambda job: job.status == JobStatus.running)
        # Sent while the fan-out prepares, so the pool runs it before the fan-out's parts.
        blocker_steps = int(2 * one_worker.jobs_stale_after_seconds / 0.2) + 1
        blocker = await create_job(
            resources, workspace, params={"steps": blocker_steps, "step_seconds": 0.2}
        )
        job = await wait_for(resources, fanout, final)
        assert job.status == JobStatus.succeeded, job.error_message
        assert job.attempts == 1
        assert job.result is not None
        assert job.result["total"] == sum(range(100))
        # The blocker really ran in between, longer than a heartbeat is trusted.
        other = await load_job(resources, blocker)
        assert other.status == JobStatus.succeeded
        assert other.attempts == 1
        assert other.finished_at is not None
        assert job.finished_at is not None
        assert other.finished_at <= job.finished_at


async def test_fanout_parts_killed_with_the_pool_are_run_again(resources: Resources) -> None:
    """A pool process dies mid-part: only the lost parts run again (the ledger keeps the
    finished ones), in the same attempt, as soon as the reaper sees their worker gone."""
    workspace = await make_workspace(resources)
    params = {"n": 100, "chunks": 2, "item_seconds": 1.5}
    job_id = await create_job(resources, workspace, "example.fanout", params)
    await wait_for(resources, job_id, lambda job: (job.stage or "").startswith("processing"))
    running = await wait_for_parts(
        resources, job_id, lambda parts: any(p.status == PartStatus.running for p in parts)
    )
    pool = resources.jobs._pool  # type: ignore[attr-defined]
    for process in list(pool._processes.values()):
        process.kill()
    job = await wait_for(resources, job_id, final)
    assert job.status == JobStatus.succeeded, job.error_message
    assert job.attempts == 1
    assert job.worker_losses == 0
    assert job.result is not None
    assert job.result["total"] == sum(range(100))
    assert running  # the kill hit a part at work


def _hold_until_killed(lock: Any, held: Any) -> None:
    """Stands in for a pool process killed while it writes a message: it takes the message
    queue's write lock, and only being killed ends it."""
    lock.acquire()
    held.set()
    time.sleep(600)


async def test_a_process_killed_while_writing_a_message_silences_no_later_one(
    resources: Resources, tmp_path: Path
) -> None:
    """Without Redis, pool processes send pub/sub messages to the app through a queue whose
    writers share a lock, and a process killed mid-write holds it for good. The pool it
    broke is replaced with a queue of its own, so the next processes' messages still come
    (the job's last one among them); and the app never writes to a queue, so no thread of
    its own waits on that lock at exit (it used to, and the test process could not exit)."""
    if resources.redis is not None:
        pytest.skip("with Redis, pool processes publish there, not through a queue")
    jobs = resources.jobs
    gate = tmp_path / "parts-wait"
    gate.touch()
    workspace = await make_workspace(resources)
    async with transaction(resources.sessions) as session:
        job = await JobService(session, RecordingQueue(), resources.pubsub).create(
            workspace_id=workspace,
            kind="example.fanout",
            params={"n": 100, "chunks": 2, "gate": str(gate)},
        )
    async with resources.pubsub.subscribe(job_channel(job.id)) as messages:
        await jobs.enqueue(job.id, "heavy")
        await wait_for_parts(
            resources, job.id, lambda parts: any(p.status == PartStatus.running for p in parts)
        )
        broken_queue = jobs._forwarder.queue  # type: ignore[attr-defined]
        context = multiprocessing.get_context("forkserver")
        held = context.Event()
        holder = context.Process(target=_hold_until_killed, args=(broken_queue._wlock, held))
        holder.start()
        assert await asyncio.to_thread(held.wait, 120)
        holder.kill()
        await asyncio.to_thread(holder.join)
        for process in list(jobs._pool._processes.values()):  # type: ignore[attr-defined]
            process.kill()
        gate.unlink()

        async def until_succeeded() -> None:
            async for _, data in messages:
                if b'"status":"succeeded"' in data:
                    return

        await asyncio.wait_for(until_succeeded(), 240)  # bounds a stuck job only
    new_queue = jobs._forwarder.queue  # type: ignore[attr-defined]
    assert new_queue is not broken_queue
    await jobs.aclose()  # as the app's shutdown does (again at teardown: a no-op)
    # A queue's writer thread starts with the first put in a process: the app made none.
    # (Not "no such thread at all": the pool's own call queue has one, which the pool's
    # manager thread ends in its own time.)
    assert broken_queue._thread is None
    assert new_queue._thread is None
