"""One registry of job kinds. A domain declares its kinds in its own ``tasks.py``; the logic
lives there (or in its service/engine), never in the runner adapters.

A kind is either single-stage (``run``) or fan-out (``prepare`` → ``map`` each item →
``reduce``). Items and map results travel between processes, so they must be small and
picklable (IDs, ranges, keys), never arrays.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.job.context import JobContext
from spatialviz.models.job import Job

Queue = Literal["heavy", "light"]
FinishHook = Callable[[AsyncSession, Job], Awaitable[None]]
# What a kind returns, stored as the job's result: any JSON object (a TypedDict of the
# kind's own, e.g. the ingest's IngestResult).
JobResult = Mapping[str, Any] | None

DEFAULT_PHASES = (0.05, 0.95)
"""A fan-out kind's progress at the end of prepare and at the end of the map items."""

# Modules that register the product's kinds when imported; a new domain appends its
# ``tasks`` module. More modules (the tests' kinds) come from ``jobs_kind_modules``.
KIND_MODULES: tuple[str, ...] = (
    "spatialviz.dataset.tasks",
    "spatialviz.scene.tasks",
)


@dataclass(frozen=True)
class JobKind:
    name: str
    queue: Queue = "heavy"
    run: Callable[[JobContext], JobResult] | None = None
    prepare: Callable[[JobContext], Sequence[Any]] | None = None
    map: Callable[[JobContext, Any], Any] | None = None
    reduce: Callable[[JobContext, list[Any]], JobResult] | None = None
    max_attempts: int | None = None
    on_finish: FinishHook | None = None
    """Runs in the transaction that moves a job of this kind to succeeded, failed or
    cancelled, so the domain row (a dataset, a scene) changes together with the job."""
    phases: tuple[float, float] = DEFAULT_PHASES
    """A fan-out kind's progress bar: where ``prepare`` ends and where the ``map`` items
    end; ``reduce`` has the rest. ``ctx.progress`` in prepare and reduce reports a fraction
    of its own phase, so the bar only moves forward from phase to phase."""

    def __post_init__(self) -> None:
        fanout = (self.prepare, self.map, self.reduce)
        if self.run is not None and any(f is not None for f in fanout):
            raise ValueError(f"job kind {self.name!r}: give run, or prepare/map/reduce, not both")
        if self.run is None and not all(f is not None for f in fanout):
            raise ValueError(f"job kind {self.name!r}: needs run, or all of prepare/map/reduce")
        prepared, mapped = self.phases
        if not 0.0 <= prepared <= mapped <= 1.0:
            raise ValueError(f"job kind {self.name!r}: phases must be 0 <= prepared <= mapped <= 1")

    @property
    def is_fanout(self) -> bool:
        return self.run is None


class UnknownJobKind(LookupError):
    pass


class KindRegistry:
    """Job kinds by name. Domains register into :data:`KINDS` when their ``tasks`` module
    is imported; :meth:`load` imports those modules (the product's and any configured)."""

    def __init__(self) -> None:
        self._kinds: dict[str, JobKind] = {}
        self._loaded: set[str] = set()

    def register(self, kind: JobKind) -> JobKind:
        """Registering the same name twice with a different kind is a bug."""
        existing = self._kinds.get(kind.name)
        if existing is not None and existing != kind:
            raise ValueError(f"job kind {kind.name!r} is already registered")
        self._kinds[kind.name] = kind
        return kind

    def load(self, extra: Iterable[str] = ()) -> None:
        """Import every module that registers kinds (in the API and each worker process)."""
        for module in (*KIND_MODULES, *extra):
            if module not in self._loaded:
                importlib.import_module(module)
                self._loaded.add(module)

    def get(self, name: str) -> JobKind:
        self.load()
        try:
            return self._kinds[name]
        except KeyError:
            raise UnknownJobKind(name) from None

    def names(self) -> list[str]:
        self.load()
        return sorted(self._kinds)

    def queue_for(self, name: str) -> Queue:
        try:
            return self.get(name).queue
        except UnknownJobKind:
            return "heavy"


KINDS = KindRegistry()


def register_job_kind(kind: JobKind) -> JobKind:
    return KINDS.register(kind)


def job_kind(
    name: str,
    *,
    queue: Queue = "heavy",
    max_attempts: int | None = None,
    on_finish: FinishHook | None = None,
) -> Callable[[Callable[[JobContext], JobResult]], Callable[[JobContext], JobResult]]:
    """Decorator for a single-stage kind: ``@job_kind("export.glb", queue="heavy")``."""

    def decorate(fn: Callable[[JobContext], JobResult]) -> Callable[[JobContext], JobResult]:
        register_job_kind(
            JobKind(name, queue=queue, run=fn, max_attempts=max_attempts, on_finish=on_finish)
        )
        return fn

    return decorate


def load_kinds(extra: Iterable[str] = ()) -> None:
    KINDS.load(extra)


def get_kind(name: str) -> JobKind:
    return KINDS.get(name)


def kind_names() -> list[str]:
    return KINDS.names()


def queue_for(name: str) -> Queue:
    return KINDS.queue_for(name)
