"""What an entry point of the runtime tells the adapter that called it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# The job's status after the call ("succeeded", "failed", "cancelled"), or what the
# adapter is to do next: send parts ("planned"), count a finished part ("mapped"), send
# the job again later ("retry"; "later": a redelivery whose holder may yet be alive), or
# nothing ("skipped": nothing to do; "lost": this run no longer holds the job).
Outcome = Literal[
    "succeeded", "failed", "cancelled", "planned", "mapped", "retry", "skipped", "lost", "later"
]


@dataclass
class Step:
    job_id: str
    outcome: Outcome
    kind: str = ""
    queue: str = "heavy"
    attempt: int = 0
    duration_seconds: float = 0.0
    error_code: str | None = None
    items: list[Any] = field(default_factory=list)
    value: Any = None
    # "planned": the positions to send (None: all of ``items``; REDUCE_POSITION: the
    # reduce). "mapped": whether this part was the last, so the reduce is to be sent.
    pending: list[int] | None = None
    last: bool = False

    @property
    def is_final(self) -> bool:
        return self.outcome in ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class PartClaim:
    """The fan-out part this attempt runs: its position and fence."""

    position: int
    tries: int
