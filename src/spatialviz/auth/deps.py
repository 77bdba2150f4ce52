"""Who is calling: the typed dependencies every domain's routes use.

``CurrentPrincipal`` authenticates ``Authorization: Bearer <access token | API key>``,
answers 401 problem+json otherwise, and counts the request against the caller's API rate
limit. ``authenticate_bearer`` is the same check for a WebSocket handler (``?token=``).
``require_role`` turns a principal and a workspace into 404 (no membership) or 403 (role
too low), so another workspace is indistinguishable from one that does not exist.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.auth.exceptions import (
    InvalidAccessToken,
    MissingCredentials,
    UserSessionRequired,
)
from spatialviz.auth.repository import ApiKeyRepository, UserRepository
from spatialviz.auth.revocation import is_revoked
from spatialviz.auth.tokens import InvalidToken, decode_access_token, digest, looks_like_api_key
from spatialviz.config import Settings
from spatialviz.kit.db import utcnow
from spatialviz.kit.deps import ResourcesDep, SessionDep
from spatialviz.kit.ratelimit import get_rate_limiter
from spatialviz.kit.resources import Resources
from spatialviz.kit.tenancy import Principal

log = structlog.get_logger(__name__)
MAX_BEARER_LENGTH = 4096

bearer_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    auto_error=False,
    description="An access token from /api/v1/auth/token, or an API key (svk_…).",
)


async def authenticate_bearer(resources: Resources, session: AsyncSession, token: str) -> Principal:
    """Resolve a bearer credential to a Principal or raise 401 (503 when revocation cannot
    be checked). Usable outside HTTP routes, e.g. a WebSocket's ``?token=``."""
    if not token or len(token) > MAX_BEARER_LENGTH:
        raise InvalidAccessToken()
    if looks_like_api_key(token):
        return await _api_key_principal(session, token)
    try:
        claims = decode_access_token(resources.settings, token)
    except InvalidToken as exc:
        log.info("access_token_rejected", reason=str(exc))
        raise InvalidAccessToken() from None
    if await is_revoked(resources.cache, claims.token_id, claims.session_id):
        raise InvalidAccessToken()
    users = UserRepository(session)
    user = await users.active_by_id(claims.user_id)
    if user is None:
        raise InvalidAccessToken()
    return Principal(
        user_id=user.id,
        roles=await users.roles_of(user.id),
        token_id=claims.token_id,
        session_id=claims.session_id,
        expires_at=claims.expires_at,
    )


async def recheck_principal(
    resources: Resources, session: AsyncSession, token: str, principal: Principal
) -> Principal:
    """The principal a long-lived connection authenticated earlier, as it stands now: raises
    401 once its session or token is revoked or its user disabled, and carries the user's
    current roles (a membership removed or lowered since). A JWT's expiry alone does not
    end it: the connection was admitted while the token was valid, and a client whose page
    sits idle could not renew it (revocation is what ends access at once)."""
    token_id, session_id = principal.token_id, principal.session_id
    if principal.api_key_id is not None or token_id is None or session_id is None:
        return await authenticate_bearer(resources, session, token)
    if await is_revoked(resources.cache, token_id, session_id):
        raise InvalidAccessToken()
    users = UserRepository(session)
    if await users.active_by_id(principal.user_id) is None:
        raise InvalidAccessToken()
    return replace(principal, roles=await users.roles_of(principal.user_id))


async def _api_key_principal(session: AsyncSession, token: str) -> Principal:
    keys = ApiKeyRepository(session)
    key = await keys.by_hash(digest(token))
    now = utcnow()
    if (
        key is None
        or key.revoked_at is not None
        or (key.expires_at is not None and key.expires_at <= now)
    ):
        raise InvalidAccessToken("The API key is invalid, expired or revoked")
    member_role = await keys.creator_role(key)
    if member_role is None:
        raise InvalidAccessToken("The API key is invalid, expired or revoked")
    role = key.role if member_role.allows(key.role) else member_role
    await keys.record_use(key, now)
    return Principal(user_id=key.created_by_id, roles={key.workspace_id: role}, api_key_id=key.id)


async def get_current_principal(
    request: Request,
    resources: ResourcesDep,
    session: SessionDep,
    token: Annotated[str | None, Depends(bearer_scheme)],
) -> Principal:
    if not token:
        raise MissingCredentials()
    principal = await authenticate_bearer(resources, session, token)
    # The API limit fails open: an outage of the limiter's storage must not take the API
    # down with it (docs/security.md).
    await get_rate_limiter(request).enforce(
        resources.settings.rate_limit_api, "api", caller_key(principal), fail_open=True
    )
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_current_principal)]


def caller_key(principal: Principal) -> str:
    """What a per-caller rate limit counts: the API key, or else the user."""
    return f"key:{principal.api_key_id}" if principal.is_api_key else f"user:{principal.user_id}"


def limit_per_caller(
    scope: str, limit: Callable[[Settings], str], *, fail_open: bool = True
) -> Callable[..., Awaitable[None]]:
    """A route dependency adding a stricter per-caller limit on top of the API limit::

    @router.post("/scenes", dependencies=[Depends(limit_per_caller("scene-create",
                                                                   lambda s: "30/minute"))])
    """

    async def dependency(request: Request, principal: CurrentPrincipal) -> None:
        settings: Settings = request.app.state.resources.settings
        await get_rate_limiter(request).enforce(
            limit(settings), scope, caller_key(principal), fail_open=fail_open
        )

    return dependency


async def get_user_principal(principal: CurrentPrincipal) -> Principal:
    if principal.is_api_key:
        raise UserSessionRequired()
    return principal


UserPrincipal = Annotated[Principal, Depends(get_user_principal)]
"""A signed-in person (access token), not an API key: for minting keys, creating
workspaces, signing out."""


def seconds_left(principal: Principal) -> float:
    """How long the principal's access token stays valid (0 for API keys)."""
    if principal.expires_at is None:
        return 0.0
    return max(0.0, principal.expires_at - time.time())
