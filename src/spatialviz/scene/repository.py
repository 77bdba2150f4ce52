"""All SQL for scenes and share links; tenancy comes from the scoped base statement."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from spatialviz.kit.tenancy import Principal, WorkspaceScopedRepository
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
