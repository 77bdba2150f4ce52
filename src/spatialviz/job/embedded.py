"""The embedded runner: a process pool owned by the app's lifespan, calling the same task
functions Celery workers call, so CPU work never blocks the event loop.

Worker processes come from a forkserver (never forked from a process with a running
loop). Without Redis they forward pub/sub messages through a queue to the app, which
publishes them on its in-process pub/sub (:mod:`spatialviz.job.forwarding`). On start,
jobs a previous run left queued or running are resumed.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import structlog

from spatialviz.config import Settings
from spatialviz.job import runtime
from spatialviz.job.forwarding import MessageForwarder
from spatialviz.job.metrics import JobMetrics
from spatialviz.job.registry import load_kinds
from spatialviz.job.repository import JobStore
from spatialviz.job.steps import Outcome, Step
from spatialviz.job.worker import WorkerRuntime, configure_worker_logging
from spatialviz.kit.db import transaction
from spatialviz.kit.resources import Resources
from spatialviz.lifeline import die_with

log = structlog.get_logger(__name__)


class _PoolProcess:
    """This pool process's runtime. The pool's initializer makes it; the functions the
    pool runs take no context, so they find it here (one per process, never shared)."""

    runtime: WorkerRuntime | None = None

    @classmethod
    def get(cls) -> WorkerRuntime:
        assert cls.runtime is not None, "not a job pool process"
        return cls.runtime


def _init_process(settings: Settings, forward_queue: Any, server_pid: int) -> None:
    # The worker dies with the server, however the server died, instead of finishing a
    # dead server's job; the fork server and resource tracker then see their pipes close.
    die_with(server_pid)
    forward: Callable[[str, bytes], None] | None = None
    if forward_queue is not None:

        def forward(channel: str, message: bytes) -> None:
            forward_queue.put((channel, message))

    configure_worker_logging(settings)
    load_kinds(settings.jobs_kind_modules)
    _PoolProcess.runtime = WorkerRuntime(settings, forward=forward)


def _run_job(job_id: str) -> Step:
    return runtime.run_job(_PoolProcess.get(), job_id)


def _run_item(job_id: str, attempt: int, index: int, total: int, item: Any) -> Step:
    return runtime.run_item(_PoolProcess.get(), job_id, attempt, index, total, item)


def _run_reduce(job_id: str, attempt: int) -> Step:
    return runtime.run_reduce(_PoolProcess.get(), job_id, attempt)


class EmbeddedJobQueue:
    def __init__(self, resources: Resources, metrics: JobMetrics) -> None:
        self._resources = resources
        self._settings = resources.settings
        self._metrics = metrics
        # forkserver: children fork from a clean, single-threaded server that has imported
        # the runtime once, so they start fast and never inherit the app's loop or threads.
        self._mp = multiprocessing.get_context("forkserver")
        self._mp.set_forkserver_preload(["spatialviz.job.runtime"])
        self._forwarder: MessageForwarder | None = None
        self._pool = self._new_pool()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def _new_pool(self) -> ProcessPoolExecutor:
        """A pool, and without Redis a message queue of its own (job.forwarding says why)."""
        if self._resources.redis is None:
            if self._forwarder is not None:
                self._forwarder.stop()
            loop = asyncio.get_running_loop()
            self._forwarder = MessageForwarder(self._mp, loop, self._resources.pubsub)
        queue = self._forwarder.queue if self._forwarder is not None else None
        return ProcessPoolExecutor(
            max_workers=self._settings.jobs_embedded_workers,
            mp_context=self._mp,
            initializer=_init_process,
            initargs=(self._settings, queue, os.getpid()),
        )

    async def start(self) -> None:
        async with transaction(self._resources.sessions) as session:
            pending = await JobStore(session).recover_after_restart()
        for job_id, kind in pending:
            log.info("job_resumed", job_id=str(job_id), kind=kind)
            await self.enqueue(job_id, "heavy")

    # JobQueue's signature: one pool serves both queues here.
    async def enqueue(self, job_id: uuid.UUID, queue: str) -> None:  # noqa: ARG002
        if self._closed:
            return
        task = asyncio.create_task(self._drive(str(job_id)), name=f"job-{job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _call(self, fn: Callable[..., Step], *args: Any) -> Step:
        loop = asyncio.get_running_loop()
        pool = self._pool
        try:
            step = await loop.run_in_executor(pool, fn, *args)
        except BrokenProcessPool:
            # A pool process died (OOM, kill): start a fresh pool (once, however many calls
            # the broken one failed); the job's heartbeat goes stale and the reaper sends it
            # again.
            log.error("job_pool_broken", function=fn.__name__)
            if self._pool is pool:
                self._pool = self._new_pool()
            raise
        self._metrics.observe(step)
        return step

    async def _drive(self, job_id: str) -> None:
        try:
            step = await self._call(_run_job, job_id)
            if step.outcome is Outcome.planned:
                step = await self._fan_out(step)
            if step.outcome is Outcome.retry:
                await asyncio.sleep(min(60.0, 2.0**step.attempt))
                await self.enqueue(uuid.UUID(job_id), step.queue)
        except asyncio.CancelledError:
            raise
        except BrokenProcessPool:
            return
        except Exception:
            log.exception("job_drive_failed", job_id=job_id)

    async def _fan_out(self, planned: Step) -> Step:
        job_id, attempt, total = planned.job_id, planned.attempt, len(planned.items)
        try:
            steps = await asyncio.gather(
                *(
                    self._call(_run_item, job_id, attempt, index, total, item)
                    for index, item in enumerate(planned.items)
                )
            )
        except BrokenProcessPool:
            # The parts died with the pool: end the fan-out's lease so the reaper starts
            # the job again after the usual stale-heartbeat wait, not after the whole lease.
            async with transaction(self._resources.sessions) as session:
                await JobStore(session).end_lease(uuid.UUID(job_id), attempt)
            raise
        unmapped = [step for step in steps if step.outcome is not Outcome.mapped]
        if unmapped:
            return unmapped[0]
        return await self._call(_run_reduce, job_id, attempt)

    async def aclose(self) -> None:
        """Stop now: running jobs are interrupted and resumed on the next start."""
        if self._closed:
            return
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        processes = list(getattr(self._pool, "_processes", {}).values())
        for process in processes:
            process.kill()
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            await asyncio.to_thread(process.join, 5)
        if self._forwarder is not None:
            await self._forwarder.aclose()
