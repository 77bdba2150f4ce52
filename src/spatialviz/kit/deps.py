"""Typed dependency aliases shared by every domain: a route's signature says what it uses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.config import Settings
from spatialviz.kit.resources import Resources

AFTER_COMMIT_KEY = "spatialviz.after_commit"
ON_ROLLBACK_KEY = "spatialviz.on_rollback"


def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


def get_settings(resources: ResourcesDep) -> Settings:
    return resources.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def after_commit(session: AsyncSession, action: Callable[[], Awaitable[None]]) -> None:
    """Run ``action`` only once the request's transaction has committed (enqueue after
    commit): a rollback drops it."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(action)


def on_rollback(session: AsyncSession, action: Callable[[], Awaitable[None]]) -> None:
    """Undo a side effect outside the database (a blob written during the request) if the
    transaction does not commit, so a failed request leaves nothing behind."""
    session.info.setdefault(ON_ROLLBACK_KEY, []).append(action)


async def get_session(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    """The request owns the transaction: commit when the endpoint returns, before the
    response is sent; roll back on any error. Services and repositories only flush."""
    async with resources.sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            undo: list[Callable[[], Awaitable[None]]] = session.info.pop(ON_ROLLBACK_KEY, [])
            for action in undo:
                await action()
            raise
        session.info.pop(ON_ROLLBACK_KEY, None)
        actions: list[Callable[[], Awaitable[None]]] = session.info.pop(AFTER_COMMIT_KEY, [])
        for action in actions:
            await action()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
