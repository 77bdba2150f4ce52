"""Typed dependency aliases shared by every domain: a route's signature says what it uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.config import Settings
from spatialviz.kit.db import finish_transaction
from spatialviz.kit.replica import (
    FORCE_PRIMARY,
    SAFE_METHODS,
    ReplicaUnavailable,
    is_connection_failure,
    is_sticky,
    mark_sticky,
    used_replica,
)
from spatialviz.kit.resources import Resources


def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


def get_settings(resources: ResourcesDep) -> Settings:
    return resources.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_session(request: Request, resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    """The request owns the transaction: commit when the endpoint returns, before the
    response is sent; roll back on any error. Services and repositories only flush.

    With a replica configured, safe requests read from it (kit/replica.py says when that is
    safe); a caller who just wrote stays on the primary for a while."""
    router = resources.replica
    use_replica = router is not None and await _may_read_replica(request, resources)
    factory = router.sessions if router is not None and use_replica else resources.sessions
    async with factory() as session:
        try:
            yield session
        except BaseException as exc:
            await _rollback_quietly(session, exc)
            if router is not None and used_replica(session) and is_connection_failure(exc):
                router.mark_down()
                raise ReplicaUnavailable from exc
            raise
        try:
            await finish_transaction(session, None)
        except BaseException as exc:
            await finish_transaction(session, exc)
            raise
    if router is not None and request.method not in SAFE_METHODS:
        seconds = resources.settings.database_replica_sticky_seconds
        await mark_sticky(resources.cache, request.scope, seconds)


async def _may_read_replica(request: Request, resources: Resources) -> bool:
    router = resources.replica
    return (
        router is not None
        and request.method in SAFE_METHODS
        and router.available
        and not request.scope.get(FORCE_PRIMARY)
        and not await is_sticky(resources.cache, request.scope)
    )


async def _rollback_quietly(session: AsyncSession, exc: BaseException) -> None:
    """Roll back; when the connection is what failed, the rollback may fail too, and the
    original error is the one worth raising."""
    try:
        await finish_transaction(session, exc)
    except Exception:
        if not is_connection_failure(exc):
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
