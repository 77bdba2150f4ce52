"""What an entry point of the runtime tells the adapter that called it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from spatialviz.models.job import JobStatus


class Outcome(enum.Enum):
    """What the adapter does next; each member is one branch of an adapter."""

    #: The job reached a final status (``Step.status``): record it in the metrics.
    finished = "finished"
    #: The job is fanned out: send its parts (``Step.items``, ``Step.pending``).
    planned = "planned"
    #: A part is done (``Step.value``); ``Step.last``: it was the last, send the reduce.
    mapped = "mapped"
    #: The job was released to ``queued`` (a retryable error): send it again after a backoff.
    retry = "retry"
    #: A redelivery whose holder may yet be alive: send this message again a heartbeat later.
    later = "later"
    #: Nothing to do: a duplicate delivery, work another run holds, or this run lost it.
    nothing = "nothing"


@dataclass
class Step:
    job_id: str
    outcome: Outcome
    kind: str = ""
    queue: str = "heavy"
    attempt: int = 0
    # Outcome.finished: the final status this run wrote.
    status: JobStatus | None = None
    duration_seconds: float = 0.0
    error_code: str | None = None
    items: list[Any] = field(default_factory=list)
    value: Any = None
    # Outcome.planned: the positions to send (None: all of ``items``; REDUCE_POSITION: the
    # reduce). Outcome.mapped: whether this part was the last, so the reduce is to be sent.
    pending: list[int] | None = None
    last: bool = False
    # Points the job code processed in this step (``JobContext.count_points``): the adapter
    # that receives the step adds them to the tiling throughput counter.
    points: int = 0


@dataclass(frozen=True)
class PartClaim:
    """The fan-out part this attempt runs: its position and fence."""

    position: int
    tries: int
