"""The access-token deny-list: revoked token ids and sessions (refresh families), kept in
the cache (Redis in production, shared by every process) until the tokens expire anyway.

A deny-list that cannot be read fails closed (503): a revoked token must never work.
"""

from __future__ import annotations

import uuid

import structlog

from spatialviz.kit.cache import Cache
from spatialviz.kit.errors import ServiceUnavailable

log = structlog.get_logger(__name__)
_JTI = "deny:jti:"
_SID = "deny:sid:"


class RevocationUnavailable(ServiceUnavailable):
    code = "revocation_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "Token revocation cannot be checked right now; try again shortly",
            headers={"Retry-After": "5"},
        )


async def is_revoked(cache: Cache, token_id: str, session_id: uuid.UUID) -> bool:
    try:
        return (
            await cache.get(_JTI + token_id) is not None
            or await cache.get(_SID + str(session_id)) is not None
        )
    except Exception as exc:
        log.warning("deny_list_unavailable", error_type=type(exc).__name__)
        raise RevocationUnavailable() from exc


async def revoke_token(cache: Cache, token_id: str, ttl_seconds: float) -> None:
    if ttl_seconds > 0:
        await cache.set(_JTI + token_id, b"1", ttl_seconds)


async def revoke_session(cache: Cache, session_id: uuid.UUID, ttl_seconds: float) -> None:
    """Kill every access token of a session; ``ttl_seconds`` ≥ the access-token lifetime."""
    await cache.set(_SID + str(session_id), b"1", ttl_seconds)
