"""One registry of job kinds. A domain declares its kinds in its own ``tasks.py``; the logic
lives there (or in its service/engine), never in the runner adapters.

A kind is either single-stage (``run``) or fan-out (``prepare`` → ``map`` each item →
``reduce``). Items and map results travel between processes, so they must be small and
picklable (IDs, ranges, keys), never arrays.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from spatialviz.job.context import JobContext
    from spatialviz.models.job import Job

Queue = Literal["heavy", "light"]
FinishHook = Callable[["AsyncSession", "Job"], Awaitable[None]]
JobResult = dict[str, Any] | None

# Modules that register kinds when imported; a new domain appends its ``tasks`` module.
KIND_MODULES: list[str] = ["spatialviz.job.examples", "spatialviz.dataset.tasks"]


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

    def __post_init__(self) -> None:
        fanout = (self.prepare, self.map, self.reduce)
        if self.run is not None and any(f is not None for f in fanout):
            raise ValueError(f"job kind {self.name!r}: give run, or prepare/map/reduce, not both")
        if self.run is None and not all(f is not None for f in fanout):
            raise ValueError(f"job kind {self.name!r}: needs run, or all of prepare/map/reduce")

    @property
    def is_fanout(self) -> bool:
        return self.run is None


class UnknownJobKind(LookupError):
    pass


_KINDS: dict[str, JobKind] = {}
_loaded = False


def register_job_kind(kind: JobKind) -> JobKind:
    """Register ``kind``; registering the same name twice with a different kind is a bug."""
    existing = _KINDS.get(kind.name)
    if existing is not None and existing != kind:
        raise ValueError(f"job kind {kind.name!r} is already registered")
    _KINDS[kind.name] = kind
    return kind


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


def load_kinds() -> None:
    """Import every module that registers kinds (in the API and in each worker process)."""
    global _loaded
    if _loaded:
        return
    for module in KIND_MODULES:
        importlib.import_module(module)
    _loaded = True


def get_kind(name: str) -> JobKind:
    load_kinds()
    try:
        return _KINDS[name]
    except KeyError:
        raise UnknownJobKind(name) from None


def kind_names() -> list[str]:
    load_kinds()
    return sorted(_KINDS)


def queue_for(name: str) -> Queue:
    try:
        return get_kind(name).queue
    except UnknownJobKind:
        return "heavy"
