"""Every SQLAlchemy model, imported here so Alembic and the app see one metadata."""

from spatialviz.kit.db import Base
from spatialviz.models.job import Job, JobStatus
from spatialviz.models.user import User
from spatialviz.models.workspace import Membership, Role, Workspace

__all__ = ["Base", "Job", "JobStatus", "Membership", "Role", "User", "Workspace"]
