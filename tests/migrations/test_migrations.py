"""Migrations run up, down and up again, and the models match what they build."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from spatialviz.kit.db import create_engine
from spatialviz.kit.migrate import downgrade, upgrade
from spatialviz.models import Base


def _drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def test_upgrade_downgrade_upgrade_without_drift(database_url: str) -> None:
    # The per-test database starts at head; go all the way down and back up.
    downgrade(database_url, "base")
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        assert await conn.run_sync(_tables) == set()
    await engine.dispose()

    upgrade(database_url, "head")
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        assert await conn.run_sync(_tables) == set(Base.metadata.tables)
        assert await conn.run_sync(_drift) == []
    await engine.dispose()
