"""The runtime of one worker process (a Celery pool process or an embedded pool process):
one object, created by the adapter that owns the process and passed explicitly to every
entry point of :mod:`spatialviz.job.runtime`.

Job code is synchronous and runs on the calling (main) thread, where Celery's soft time
limit is raised; the database layer is async SQLAlchemy shared with the API (finish hooks
are domain coroutines). So the runtime owns one event loop on one thread, for the whole
process: database calls and every attempt's heartbeat run there as coroutines.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

import structlog

from spatialviz.config import Settings
from spatialviz.job.liveness import process_identity
from spatialviz.kit.logging import configure_logging
from spatialviz.kit.resources import Resources, open_resources
from spatialviz.kit.storage import BlobStorage

log = structlog.get_logger(__name__)
T = TypeVar("T")
Forward = Callable[[str, bytes], None]


def configure_worker_logging(settings: Settings) -> None:
    """Job events are log lines like the API's: the same format, fields and redaction.
    Called once by the process that owns the workers, before they start: in a Celery pool
    process stdout is already Celery's logging proxy, and a handler writing to it would
    feed every line back into itself."""
    configure_logging(settings.effective_log_format, settings.log_level)


class WorkerRuntime:
    """Per process: settings, identity, the event loop thread, database, storage and
    publisher. ``time_limit_errors``: the exception types the adapter raises into job code
    when a time limit passes (Celery's ``SoftTimeLimitExceeded``); such a job fails with
    ``timeout``."""

    def __init__(
        self,
        settings: Settings,
        *,
        forward: Forward | None = None,
        time_limit_errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        self.pid = os.getpid()
        self.settings = settings
        self.time_limit_errors = time_limit_errors
        # host:pid:start-time, so a reaper on this host can tell whether we still run.
        self.worker_name = process_identity()
        self._forward = forward
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="job-runtime", daemon=True
        )
        self._thread.start()
        self.resources: Resources = open_resources(settings)

    @property
    def storage(self) -> BlobStorage:
        return self.resources.storage

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a database coroutine on the runtime's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> Future[None]:
        """Start a coroutine on the runtime's loop without waiting (a heartbeat)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def publish(self, channel: str, message: bytes) -> None:
        """Best effort and never blocking: progress must not stall or fail on Redis."""
        if self._forward is not None:
            self._forward(channel, message)
            return
        future = asyncio.run_coroutine_threadsafe(
            self.resources.pubsub.publish(channel, message), self.loop
        )
        future.add_done_callback(_log_publish_error)

    def close(self) -> None:
        if self.pid != os.getpid():
            # Inherited through fork: the connections belong to the parent; leave them.
            return
        self.call(self.resources.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


def _log_publish_error(future: Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("job_publish_failed", error=repr(future.exception()))


class ProcessRuntime:
    """The one runtime of this process, made on first use from the settings its owner
    gave; a forked child makes its own (a parent's loop and connections do not survive a
    fork)."""

    def __init__(
        self,
        settings: Settings,
        *,
        forward: Forward | None = None,
        time_limit_errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        self.settings = settings
        self._forward = forward
        self._time_limit_errors = time_limit_errors
        self._runtime: WorkerRuntime | None = None
        # Runtimes inherited through fork: kept referenced so their connections are never
        # garbage-collected (closed) from the child.
        self._inherited: list[WorkerRuntime] = []
        self._lock = threading.Lock()

    def get(self) -> WorkerRuntime:
        with self._lock:
            if self._runtime is not None and self._runtime.pid != os.getpid():
                self._inherited.append(self._runtime)
                self._runtime = None
            if self._runtime is None:
                self._runtime = WorkerRuntime(
                    self.settings,
                    forward=self._forward,
                    time_limit_errors=self._time_limit_errors,
                )
            return self._runtime

    def close(self) -> None:
        with self._lock:
            if self._runtime is not None:
                self._runtime.close()
            self._runtime = None
