"""Typed dependency aliases shared by every domain: a route's signature says what it uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.config import Settings
from spatialviz.kit.db import finish_transaction
from spatialviz.kit.resources import Resources


def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


def get_settings(resources: ResourcesDep) -> Settings:
    return resources.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_session(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    """The request owns the transaction: commit when the endpoint returns, before the
    response is sent; roll back on any error. Services and repositories only flush."""
    async with resources.sessions() as session:
        try:
            yield session
        except BaseException as exc:
            await finish_transaction(session, exc)
            raise
        try:
            await finish_transaction(session, None)
        except BaseException as exc:
            await finish_transaction(session, exc)
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
