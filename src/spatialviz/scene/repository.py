"""All SQL for scenes and share links; tenancy comes from the scoped base statement."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from spatialviz.kit.tenancy import Principal, WorkspaceScopedRepository
from spatialviz.models.dataset import Dataset
from spatialviz.models.job import Job
from spatialviz.models.scene import Scene, ShareLink


class SceneRepository(WorkspaceScopedRepository[Scene]):
    model = Scene

    async def page(
        self,
        principal: Principal,
        *,
        dataset_id: uuid.UUID | None,
        workspace_id: uuid.UUID | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> Sequence[Scene]:
        statement = self.scoped(principal)
        if dataset_id is not None:
            statement = statement.where(Scene.dataset_id == dataset_id)
        if workspace_id is not None:
            statement = statement.where(Scene.workspace_id == workspace_id)
        return await self.newest_first(statement, after=after, limit=limit)

    async def get_unscoped(self, scene_id: uuid.UUID) -> Scene | None:
        """For signed or shared access (checked by signature) and background tasks."""
        return await self.session.get(Scene, scene_id)

    async def job_of(self, scene: Scene) -> Job | None:
        if scene.job_id is None:
            return None
        return await self.session.get(Job, scene.job_id)

    async def datasets_and_jobs(
        self, scenes: Sequence[Scene]
    ) -> tuple[dict[uuid.UUID, Dataset], dict[uuid.UUID, Job]]:
        """The datasets and current jobs of a page of scenes in two statements, whatever the
        page size (a query per scene made the list cost two round trips a row)."""
        dataset_ids = {scene.dataset_id for scene in scenes}
        job_ids = {scene.job_id for scene in scenes if scene.job_id is not None}
        datasets: dict[uuid.UUID, Dataset] = {}
        jobs: dict[uuid.UUID, Job] = {}
        if dataset_ids:
            found = await self.session.scalars(select(Dataset).where(Dataset.id.in_(dataset_ids)))
            datasets = {dataset.id: dataset for dataset in found}
        if job_ids:
            running = await self.session.scalars(select(Job).where(Job.id.in_(job_ids)))
            jobs = {job.id: job for job in running}
        return datasets, jobs

    async def remove(self, scene: Scene) -> None:
        await self.session.delete(scene)
        await self.session.flush()


class ShareLinkRepository(WorkspaceScopedRepository[ShareLink]):
    model = ShareLink

    async def for_scene(self, principal: Principal, scene_id: uuid.UUID) -> Sequence[ShareLink]:
        statement = (
            self.scoped(principal)
            .where(ShareLink.scene_id == scene_id)
            .order_by(ShareLink.created_at.desc(), ShareLink.id.desc())
        )
        return await self.list(statement, limit=1000)
