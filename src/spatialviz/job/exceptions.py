"""The job domain's errors, each with its HTTP status."""

from __future__ import annotations

from spatialviz.kit.errors import Conflict, NotFound, UnprocessableEntity


class JobNotFound(NotFound):
    code = "job_not_found"
    title = "Job not found"


class JobNotRetryable(Conflict):
    code = "job_not_retryable"
    title = "Only a failed or cancelled job can be retried"


class JobAlreadyFinished(Conflict):
    code = "job_finished"
    title = "The job has already finished"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "The idempotency key belongs to a different job"


class UnknownKind(UnprocessableEntity):
    code = "unknown_job_kind"
    title = "Unknown job kind"
