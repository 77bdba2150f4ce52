"""Database engine, session factory and the declarative base every model uses."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, MetaData, TypeDecorator, Uuid, event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


AFTER_COMMIT_KEY = "spatialviz.after_commit"
ON_ROLLBACK_KEY = "spatialviz.on_rollback"


def after_commit(session: AsyncSession, action: Callable[[], Awaitable[None]]) -> None:
    """Run ``action`` only once the transaction has committed (enqueue after commit): a
    rollback drops it. The request dependency and :func:`transaction` run these."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(action)


def on_rollback(session: AsyncSession, action: Callable[[], Awaitable[None]]) -> None:
    """Undo a side effect outside the database (a blob written during the request) if the
    transaction does not commit, so a failed request leaves nothing behind."""
    session.info.setdefault(ON_ROLLBACK_KEY, []).append(action)


async def finish_transaction(session: AsyncSession, error: BaseException | None) -> None:
    """Commit (or roll back on ``error``) and run the matching hooks."""
    if error is None:
        await session.commit()
        session.info.pop(ON_ROLLBACK_KEY, None)
        actions: list[Callable[[], Awaitable[None]]] = session.info.pop(AFTER_COMMIT_KEY, [])
    else:
        await session.rollback()
        session.info.pop(AFTER_COMMIT_KEY, None)
        actions = session.info.pop(ON_ROLLBACK_KEY, [])
    for action in actions:
        await action()


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Time-zone-aware timestamps on every backend: SQLite stores no zone, so values are
    normalised to UTC on the way in and marked UTC on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    # The signatures are SQLAlchemy's (TypeDecorator); the dialect does not matter here.
    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), uuid.UUID: Uuid()}


class RecordMixin:
    """UUID key and time-zone-aware timestamps, on every table."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        # One writer at a time is SQLite's nature: wait for the lock instead of failing.
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=10, pool_timeout=10)
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(
    factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A unit of work owned by a task or a script: commit on success, roll back on error."""
    async with factory() as session:
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
