"""Read routing to a PostgreSQL streaming replica (``SPATIALVIZ_DATABASE_REPLICA_URL``).

Which reads may go to the replica, and why that is safe:

- Only requests with a safe method (GET, HEAD) get a replica-routed session, and in it only
  plain SELECTs run on the replica. The first INSERT, UPDATE or DELETE of the session (an
  API key's last-used stamp, say) goes to the primary, and every statement after it too, so
  a transaction that writes never reads from a replica behind it.
- Read-your-writes: a credential (bearer token or API key; the client address otherwise)
  that changed something stays on the primary for ``database_replica_sticky_seconds``,
  longer than any replica lag we accept (an alert fires at 30 s of lag), so a client never
  misses its own write. The marker lives in the cache (Redis in production), so it holds
  across every API server.
- A replica that fails is skipped for ``REPLICA_RETRY_SECONDS`` and the failed GET is run
  again on the primary before anything is sent (``ReplicaFallbackMiddleware``): a replica
  outage costs one retried request per API process, never a failed one. ``/readyz`` reports
  the replica as a degraded dependency, not as a reason to take the pod out.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from sqlalchemy import Delete, Insert, Update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spatialviz.kit.cache import Cache

SAFE_METHODS = frozenset({"GET", "HEAD"})
REPLICA_RETRY_SECONDS = 10.0
FORCE_PRIMARY = "spatialviz.force_primary"


class ReplicaUnavailable(Exception):
    """The replica failed under a safe request; the middleware runs it again on the
    primary."""


class _RoutingSession(Session):
    """Plain reads to the replica until the session writes; then everything to the
    primary (SQLAlchemy's documented ``get_bind`` routing)."""

    primary: Engine
    replica: Engine

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.wrote = False
        self.used_replica = False

    # Session.get_bind's signature (SQLAlchemy); the route depends on the statement only.
    def get_bind(self, mapper: Any = None, clause: Any = None, **kwargs: Any) -> Engine:  # noqa: ARG002
        if self.wrote or self._flushing or isinstance(clause, Insert | Update | Delete):
            self.wrote = True
            return self.primary
        self.used_replica = True
        return self.replica


class ReplicaRouter:
    def __init__(self, primary: AsyncEngine, replica: AsyncEngine, sticky_seconds: float):
        self.replica_engine = replica
        self.sticky_seconds = sticky_seconds
        routing = type(
            "RoutingSession",
            (_RoutingSession,),
            {"primary": primary.sync_engine, "replica": replica.sync_engine},
        )
        self.sessions = async_sessionmaker(
            primary, sync_session_class=routing, expire_on_commit=False, autoflush=False
        )
        self._down_until = 0.0

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def mark_down(self) -> None:
        self._down_until = time.monotonic() + REPLICA_RETRY_SECONDS

    async def aclose(self) -> None:
        await self.replica_engine.dispose()


def used_replica(session: AsyncSession) -> bool:
    sync = session.sync_session
    return isinstance(sync, _RoutingSession) and sync.used_replica and not sync.wrote


def is_connection_failure(exc: BaseException) -> bool:
    """A lost or refused connection (retrying elsewhere helps), not a bad statement."""
    if isinstance(exc, InterfaceError):
        return True
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated) or isinstance(exc.orig, OSError)
    return isinstance(exc, OSError | TimeoutError)


def credential_key(scope: Scope) -> str:
    """Who "the caller who just wrote" is: their credential, else their address."""
    headers = dict(scope.get("headers") or [])
    credential = headers.get(b"authorization")
    if credential is None:
        query = scope.get("query_string", b"")
        credential = query if b"sig=" in query or b"token=" in query else None
    if credential is None:
        client = scope.get("client") or ("", 0)
        credential = str(client[0]).encode()
    return "replica-sticky:" + hashlib.sha256(credential).hexdigest()[:32]


async def is_sticky(cache: Cache, scope: Scope) -> bool:
    try:
        return await cache.get(credential_key(scope)) is not None
    except Exception:  # the cache is down: the primary is always right
        return True


async def mark_sticky(cache: Cache, scope: Scope, seconds: float) -> None:
    try:
        await cache.set(credential_key(scope), b"1", ttl_seconds=seconds)
    except Exception:  # the cache is down: is_sticky answers True meanwhile
        return


class ReplicaFallbackMiddleware:
    """Runs a safe request again on the primary when the replica failed under it, as long as
    nothing was sent yet (GET and HEAD have no body to replay)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ReplicaUnavailable:
            if started:
                raise
            await self.app({**scope, FORCE_PRIMARY: True}, receive, send)
