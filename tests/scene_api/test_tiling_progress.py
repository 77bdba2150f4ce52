"""The tiling job's progress only moves forward (issue "The tiling progress drops from 50 %
to 5 %"): its prepare reported the planner's stages up to 50 % of the job, then the fan-out
runtime set its own 5 % for "prepared", and the reduce went from 95 % back to 90 %."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid

import httpx
from fastapi import FastAPI

from spatialviz.config import Settings
from spatialviz.job.schemas import job_channel
from spatialviz.job.service import JobService
from spatialviz.kit.db import transaction
from spatialviz.kit.resources import Resources
from spatialviz.kit.tenancy import Principal
from spatialviz.models.workspace import Role
from spatialviz.scene.service import create_scene
from tests.dataset.helpers import csv_bytes
from tests.factories import register_and_sign_in
from tests.job.helpers import RecordingQueue
from tests.scene_api.helpers import ready_dataset


async def test_every_progress_published_for_a_tiling_job_is_at_least_the_last(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    resources: Resources = app.state.resources
    settings.scene_tiling_max_chunk_points = 1000  # several map items
    user, headers = await register_and_sign_in(client)
    workspace = uuid.UUID(user["personal_workspace_id"])
    dataset = await ready_dataset(client, headers, str(workspace), csv_bytes(6000))
    # The job is recorded but not sent, so the subscription below hears all of it.
    async with transaction(resources.sessions) as session:
        jobs = JobService(session, RecordingQueue(), resources.pubsub)
        principal = Principal(user_id=uuid.UUID(user["id"]), roles={workspace: Role.owner})
        _, job = await create_scene(
            session, jobs, principal, dataset_id=uuid.UUID(dataset["id"]), encoding=None, name=None
        )

    seen: list[tuple[float, str | None, str]] = []
    async with resources.pubsub.subscribe(job_channel(job.id)) as messages:
        await resources.jobs.enqueue(job.id, "heavy")

        async def collect() -> None:
            async for _, data in messages:
                state = json.loads(data)["job"]
                seen.append((state["progress"], state["stage"], state["status"]))
                if state["status"] in {"succeeded", "failed", "cancelled"}:
                    return

        await asyncio.wait_for(collect(), 90)

    assert seen[-1][2] == "succeeded", seen
    progress = [p for p, _, _ in seen]
    assert all(b >= a for a, b in itertools.pairwise(progress)), seen
    # Every phase reported (the planner's stages, the parts, the reduce's stages).
    stages = {stage for _, stage, _ in seen}
    assert {"scan", "distribute", "publishing"} <= stages, stages
    assert progress[-1] == 1.0
