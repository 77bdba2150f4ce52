"""Every SQLAlchemy model, imported here so Alembic and the app see one metadata."""

from spatialviz.kit.db import Base

__all__ = ["Base"]
