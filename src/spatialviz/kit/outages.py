"""Which dependency, if any, an exception says is down.

One classifier for every path (HTTP handlers, WebSocket channels, background sweeps): a
connection error from PostgreSQL/SQLite, Redis, the Celery broker or blob storage is an
outage (503 with Retry-After), never a bug (500). Libraries wrap each other's errors and
some raise a bare ``ConnectionRefusedError``, so the classifier looks at the whole chain
(``__cause__``, ``__context__``, SQLAlchemy's ``orig``) and, for bare OS errors, at which
library's frames raised it.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

import redis.exceptions as redis_errors
import sqlalchemy.exc as sa_errors

Dependency = Literal["database", "redis", "broker", "storage"]

#: How long a client should wait before trying again, per dependency: a restarted
#: PostgreSQL takes a few seconds to accept connections, Redis less.
RETRY_AFTER_SECONDS: dict[Dependency, int] = {
    "database": 5,
    "redis": 2,
    "broker": 5,
    "storage": 5,
}

# Top-level package of a frame (or of an exception's class) -> the dependency it talks to.
_PACKAGES: dict[str, Dependency] = {
    "asyncpg": "database",
    "aiosqlite": "database",
    "sqlite3": "database",
    "sqlalchemy": "database",
    "redis": "redis",
    "kombu": "broker",
    "amqp": "broker",
    "celery": "broker",
    "botocore": "storage",
    "boto3": "storage",
    "s3transfer": "storage",
}

# Named by class so that kombu/botocore/asyncpg need not be imported to classify.
_OUTAGE_CLASS_NAMES: dict[str, Dependency] = {
    "asyncpg.exceptions.PostgresConnectionError": "database",
    "asyncpg.exceptions.ConnectionDoesNotExistError": "database",
    "asyncpg.exceptions.CannotConnectNowError": "database",
    "asyncpg.exceptions.AdminShutdownError": "database",
    "asyncpg.exceptions.CrashShutdownError": "database",
    "asyncpg.exceptions.TooManyConnectionsError": "database",
    "asyncpg.exceptions._base.InterfaceError": "database",
    "kombu.exceptions.OperationalError": "broker",
    "botocore.exceptions.EndpointConnectionError": "storage",
    "botocore.exceptions.ConnectionClosedError": "storage",
    "botocore.exceptions.ConnectTimeoutError": "storage",
    "botocore.exceptions.ReadTimeoutError": "storage",
}

_BARE_CONNECTION_ERRORS = (ConnectionError, TimeoutError, socket.gaierror)


@dataclass(frozen=True)
class Outage:
    dependency: Dependency

    @property
    def retry_after(self) -> int:
        return RETRY_AFTER_SECONDS[self.dependency]

    @property
    def detail(self) -> str:
        return f"The {self.dependency} is unavailable; try again in a few seconds."


def outage_of(exc: BaseException) -> Outage | None:
    """The dependency ``exc`` (or anything it wraps) reports as unreachable, else None."""
    for link in _chain(exc):
        dependency = _classify(link)
        if dependency is not None:
            return Outage(dependency)
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo and len(seen) < 16:
        link = todo.pop(0)
        if link is None or any(link is s for s in seen):
            continue
        seen.append(link)
        orig = getattr(link, "orig", None)
        todo.extend(
            [orig if isinstance(orig, BaseException) else None, link.__cause__, link.__context__]
        )
    return seen


def _classify(exc: BaseException) -> Dependency | None:
    if isinstance(
        exc,
        sa_errors.OperationalError
        | sa_errors.InterfaceError
        | sa_errors.TimeoutError
        | sa_errors.DisconnectionError,
    ):
        return "database"
    if isinstance(exc, sa_errors.DBAPIError) and exc.connection_invalidated:
        return "database"
    if isinstance(exc, redis_errors.ConnectionError | redis_errors.TimeoutError):
        return "redis"
    for cls in type(exc).__mro__:
        named = _OUTAGE_CLASS_NAMES.get(f"{cls.__module__}.{cls.__qualname__}")
        if named is not None:
            return named
    if isinstance(exc, _BARE_CONNECTION_ERRORS):
        return _raised_by(exc.__traceback__)
    return None


def _raised_by(tb: TracebackType | None) -> Dependency | None:
    """The dependency whose client library raised a bare OS error (innermost frame wins)."""
    found: Dependency | None = None
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        found = _PACKAGES.get(module.split(".", 1)[0], found)
        tb = tb.tb_next
    return found
