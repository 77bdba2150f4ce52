"""The unit of work runs after-commit actions only on commit, undo actions only on rollback."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from spatialviz.kit.db import (
    after_commit,
    create_engine,
    create_session_factory,
    on_rollback,
    transaction,
)
from spatialviz.models import Workspace


async def test_commit_runs_after_commit_actions_only(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    ran: list[str] = []

    async def sent() -> None:
        ran.append("sent")

    async def undone() -> None:
        ran.append("undone")

    async with transaction(sessions) as session:
        session.add(Workspace(id=uuid.uuid4(), name="w"))
        after_commit(session, sent)
        on_rollback(session, undone)
        assert ran == []
    assert ran == ["sent"]
    await engine.dispose()


async def test_rollback_runs_undo_and_drops_after_commit(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    ran: list[str] = []

    async def sent() -> None:
        ran.append("sent")

    async def undone() -> None:
        ran.append("undone")

    async def failing_unit_of_work() -> None:
        async with transaction(sessions) as session:
            session.add(Workspace(id=uuid.uuid4(), name="w"))
            await session.flush()
            after_commit(session, sent)
            on_rollback(session, undone)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await failing_unit_of_work()
    assert ran == ["undone"]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Workspace)) == 0
    await engine.dispose()
