"""What job code raises, and what the runner raises into it. A leaf module: every other
module of the job package may import it, it imports none of them."""

from __future__ import annotations


class JobCancelled(Exception):
    """Raised by :meth:`JobContext.check_cancelled`; the runner marks the job cancelled."""


class JobLost(Exception):
    """This attempt no longer holds the job (reaped after a stall, or re-claimed)."""


class JobError(Exception):
    """A failure the client should see: ``code`` is stable, ``message`` human-readable.
    ``retryable`` failures go back to the queue while attempts remain."""

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code, self.message, self.retryable = code, message, retryable
