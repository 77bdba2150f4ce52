"""Every SQLAlchemy model, imported here so Alembic and the app see one metadata."""

from spatialviz.kit.db import Base
from spatialviz.models.annotation import Annotation
from spatialviz.models.api_key import ApiKey
from spatialviz.models.audit_event import AuditEvent
from spatialviz.models.dataset import Dataset, DatasetStatus
from spatialviz.models.job import Job, JobStatus
from spatialviz.models.job_part import JobPart, PartStatus
from spatialviz.models.refresh_token import RefreshToken
from spatialviz.models.scene import Scene, SceneStatus, ShareLink
from spatialviz.models.upload import Upload
from spatialviz.models.user import User
from spatialviz.models.workspace import Membership, Role, Workspace

__all__ = [
    "Annotation",
    "ApiKey",
    "AuditEvent",
    "Base",
    "Dataset",
    "DatasetStatus",
    "Job",
    "JobPart",
    "JobStatus",
    "Membership",
    "PartStatus",
    "RefreshToken",
    "Role",
    "Scene",
    "SceneStatus",
    "ShareLink",
    "Upload",
    "User",
    "Workspace",
]
