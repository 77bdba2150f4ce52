"""All SQL for datasets and uploads; tenancy comes from the scoped base statement."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update

from spatialviz.kit.tenancy import Principal, WorkspaceScopedRepository
from spatialviz.models.dataset import Dataset
from spatialviz.models.scene import Scene
from spatialviz.models.upload import Upload
from spatialviz.models.workspace import Role


class DatasetRepository(WorkspaceScopedRepository[Dataset]):
    model = Dataset

    async def page(
        self,
        principal: Principal,
        *,
        workspace_id: uuid.UUID | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> Sequence[Dataset]:
        statement = self.scoped(principal)
        if workspace_id is not None:
            statement = statement.where(Dataset.workspace_id == workspace_id)
        return await self.newest_first(statement, after=after, limit=limit)

    async def scene_ids(self, dataset_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
        """The scenes of each dataset, oldest first (one query for a whole page)."""
        found: dict[uuid.UUID, list[uuid.UUID]] = {d: [] for d in dataset_ids}
        if not dataset_ids:
            return found
        rows = await self.session.execute(
            select(Scene.dataset_id, Scene.id)
            .where(Scene.dataset_id.in_(list(dataset_ids)))
            .order_by(Scene.created_at, Scene.id)
        )
        for dataset_id, scene_id in rows:
            found[dataset_id].append(scene_id)
        return found

    async def get_unscoped(self, dataset_id: uuid.UUID) -> Dataset | None:
        """For background tasks, which act for the system after access was checked."""
        return await self.session.get(Dataset, dataset_id)

    async def remove(self, dataset: Dataset) -> None:
        await self.session.delete(dataset)
        await self.session.flush()


class UploadRepository(WorkspaceScopedRepository[Upload]):
    model = Upload

    async def get_for_write(self, principal: Principal, upload_id: uuid.UUID) -> Upload | None:
        return await self.get(principal, upload_id, Role.editor)

    async def advance(self, upload: Upload, expected_offset: int, new_offset: int) -> bool:
        """Move the offset only if nobody else did meanwhile (a conditional UPDATE), so
        two racing PATCHes cannot both append at the same offset."""
        parts = [*upload.parts, expected_offset]
        result = await self.session.execute(
            update(Upload)
            .where(Upload.id == upload.id, Upload.offset == expected_offset)
            .values(offset=new_offset, parts=parts)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        await self.session.refresh(upload)
        return True

    async def expired(self, now: datetime, limit: int = 100) -> Sequence[Upload]:
        result = await self.session.execute(
            select(Upload).where(Upload.expires_at < now, Upload.dataset_id.is_(None)).limit(limit)
        )
        return result.scalars().all()

    async def remove(self, upload_id: uuid.UUID) -> None:
        await self.session.execute(delete(Upload).where(Upload.id == upload_id))
