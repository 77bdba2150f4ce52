"""Background jobs: the registry of kinds, the context job code gets, and the errors it
raises. See docs/jobs.md. Create jobs with :class:`spatialviz.job.service.JobService`."""

from spatialviz.job.context import JobCancelled, JobContext, JobError, JobLost
from spatialviz.job.registry import JobKind, JobResult, job_kind, register_job_kind

__all__ = [
    "JobCancelled",
    "JobContext",
    "JobError",
    "JobKind",
    "JobLost",
    "JobResult",
    "job_kind",
    "register_job_kind",
]
