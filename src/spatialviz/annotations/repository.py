"""All SQL for annotations. Tenancy: a scene is reached through the caller's workspaces
(``scene_for``) before any of its annotations is; share-link readers have proven the scene
already (scene/auth.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.kit.tenancy import Principal
from spatialviz.models.annotation import Annotation
from spatialviz.models.scene import Scene
from spatialviz.models.user import User


class AnnotationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def scene_for(
        self, principal: Principal, scene_id: uuid.UUID, *, lock: bool = False
    ) -> Scene | None:
        """The scene if it is in one of the caller's workspaces (any role). ``lock``: held
        until commit (PostgreSQL), so writers to one scene take turns and the per-scene
        limit holds under concurrent requests."""
        statement = select(Scene).where(
            Scene.id == scene_id, Scene.workspace_id.in_(principal.workspace_ids())
        )
        if lock:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).first()

    async def scene_workspace(self, scene_id: uuid.UUID) -> uuid.UUID | None:
        """For the realtime snapshot, whose access check is the hub's (per subscriber)."""
        statement = select(Scene.workspace_id).where(Scene.id == scene_id)
        return (await self.session.scalars(statement)).first()

    async def of_scene(self, scene_id: uuid.UUID) -> Sequence[tuple[Annotation, str | None]]:
        """The scene's annotations, oldest first, each with its author's display name."""
        statement = (
            select(Annotation, User.display_name)
            .outerjoin(User, User.id == Annotation.author_id)
            .where(Annotation.scene_id == scene_id)
            .order_by(Annotation.created_at, Annotation.id)
        )
        return [(row[0], row[1]) for row in (await self.session.execute(statement)).all()]

    async def count(self, scene_id: uuid.UUID) -> int:
        statement = select(func.count()).where(Annotation.scene_id == scene_id)
        return int((await self.session.scalar(statement)) or 0)

    async def get(self, scene_id: uuid.UUID, annotation_id: uuid.UUID) -> Annotation | None:
        statement = select(Annotation).where(
            Annotation.id == annotation_id, Annotation.scene_id == scene_id
        )
        return (await self.session.scalars(statement)).first()

    async def add(self, annotation: Annotation) -> None:
        self.session.add(annotation)
        await self.session.flush()

    async def remove(self, annotation: Annotation) -> None:
        await self.session.delete(annotation)
        await self.session.flush()
