"""The job state machine: every change of ``jobs.status`` is one row of this table, and
every conditional UPDATE that changes a status takes its source states from here
(:func:`sources`). docs/jobs.md shows the same table; ``tests/job/test_states.py`` fails
when the two differ."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from spatialviz.models.job import JobStatus


class Event(enum.StrEnum):
    claim = "claim"
    take_over = "take_over"
    succeed = "succeed"
    fail = "fail"
    cancel = "cancel"
    release = "release"
    requeue_lost = "requeue_lost"
    fail_lost = "fail_lost"
    cancel_queued = "cancel_queued"
    retry = "retry"


@dataclass(frozen=True)
class Transition:
    event: Event
    sources: frozenset[JobStatus]
    target: JobStatus
    guard: str
    by: str


def _t(event: Event, sources: str, target: str, guard: str, by: str) -> Transition:
    return Transition(
        event,
        frozenset(JobStatus(s.strip()) for s in sources.split(",")),
        JobStatus(target),
        guard,
        by,
    )


TRANSITIONS: tuple[Transition, ...] = (
    _t(
        Event.claim,
        "queued",
        "running",
        "no cancel asked; failed attempts < max_attempts",
        "worker",
    ),
    _t(
        Event.take_over,
        "running",
        "running",
        "holder lost (liveness) and its heartbeat unchanged; not fanned out",
        "worker",
    ),
    _t(Event.succeed, "running", "succeeded", "fence: attempts", "worker"),
    _t(Event.fail, "running", "failed", "fence: attempts", "worker"),
    _t(
        Event.cancel,
        "running",
        "cancelled",
        "cancel asked; fence: attempts",
        "worker, reaper, restart",
    ),
    _t(
        Event.release,
        "running",
        "queued",
        "retryable error; failed attempts < max_attempts",
        "worker",
    ),
    _t(
        Event.requeue_lost,
        "running",
        "queued",
        "holder lost; worker_losses <= max",
        "reaper, restart",
    ),
    _t(Event.fail_lost, "running", "failed", "worker_losses > max", "reaper, restart"),
    _t(Event.cancel_queued, "queued", "cancelled", "cancel asked", "API"),
    _t(Event.retry, "failed, cancelled", "queued", "a user asks", "API"),
)

_BY_EVENT = {t.event: t for t in TRANSITIONS}


def transition(event: Event) -> Transition:
    return _BY_EVENT[event]


def sources(event: Event) -> list[JobStatus]:
    """The statuses ``event`` may leave, for the UPDATE's WHERE clause."""
    return sorted(_BY_EVENT[event].sources)


def target(event: Event) -> JobStatus:
    return _BY_EVENT[event].target


def allowed(source: JobStatus, to: JobStatus) -> bool:
    return any(source in t.sources and t.target == to for t in TRANSITIONS)
