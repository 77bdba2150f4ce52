"""GET /api/v1/jobs, /api/v1/jobs/{id}; POST .../cancel, .../retry; the `job:` channel."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from spatialviz.auth.deps import CurrentPrincipal
from spatialviz.job.repository import JobStore
from spatialviz.job.schemas import JobRead, job_message
from spatialviz.job.service import JobService
from spatialviz.kit.deps import ResourcesDep, SessionDep
from spatialviz.kit.errors import problem_responses
from spatialviz.kit.pagination import CursorQuery, LimitQuery, Page
from spatialviz.kit.resources import Resources
from spatialviz.realtime.channels import Snapshot, register_channel

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


def get_job_service(session: SessionDep, resources: ResourcesDep) -> JobService:
    return JobService(
        session,
        resources.jobs,
        resources.pubsub,
        default_max_attempts=resources.settings.jobs_max_attempts,
    )


JobServiceDep = Annotated[JobService, Depends(get_job_service)]


@router.get(
    "",
    summary="Jobs of the caller's workspaces, newest first",
    responses=problem_responses(401, 422, 429),
)
async def list_jobs(
    principal: CurrentPrincipal,
    service: JobServiceDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    dataset_id: Annotated[uuid.UUID | None, Query()] = None,
    scene_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page[JobRead]:
    jobs, next_cursor = await service.page(
        principal, limit=limit, cursor=cursor, dataset_id=dataset_id, scene_id=scene_id
    )
    return Page[JobRead](
        items=[JobRead.model_validate(job) for job in jobs], next_cursor=next_cursor
    )


@router.get("/{job_id}", summary="A job's state", responses=problem_responses(401, 404, 429))
async def get_job(
    job_id: uuid.UUID, principal: CurrentPrincipal, service: JobServiceDep
) -> JobRead:
    return JobRead.model_validate(await service.get(principal, job_id))


@router.post(
    "/{job_id}/cancel",
    summary="Cancel a queued job, or ask a running one to stop",
    responses=problem_responses(401, 403, 404, 409, 429),
)
async def cancel_job(
    job_id: uuid.UUID, principal: CurrentPrincipal, service: JobServiceDep
) -> JobRead:
    return JobRead.model_validate(await service.cancel(principal, job_id))


@router.post(
    "/{job_id}/retry",
    summary="Run a failed or cancelled job again",
    responses=problem_responses(401, 403, 404, 409, 429),
)
async def retry_job(
    job_id: uuid.UUID, principal: CurrentPrincipal, service: JobServiceDep
) -> JobRead:
    return JobRead.model_validate(await service.retry(principal, job_id))


async def job_snapshot(resources: Resources, ident: str) -> Snapshot | None:
    """One read for all of a job's subscribers; the hub checks each one's workspace."""
    try:
        job_id = uuid.UUID(ident)
    except ValueError:
        return None
    async with resources.sessions() as session:
        job = await JobStore(session).get(job_id)
        if job is None:
            return None
        return Snapshot(job.workspace_id, job_message(job), job.status.is_final)


register_channel("job", job_snapshot)
