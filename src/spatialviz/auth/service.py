"""Registration, sign-in, refresh-token rotation with reuse detection, sign-out, API keys.

No FastAPI here, and no commits: the request owns the transaction. Outcomes that must be
committed although the caller gets an error (a failed sign-in's audit event, a reused
refresh token's revoked family) are returned as values, never raised.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.audit.service import record_audit
from spatialviz.auth import grants
from spatialviz.auth.exceptions import EmailAlreadyRegistered, WeakPassword
from spatialviz.auth.passwords import hash_password, password_problem, verify_password
from spatialviz.auth.repository import ApiKeyRepository, RefreshTokenRepository, UserRepository
from spatialviz.auth.revocation import revoke_session, revoke_token
from spatialviz.auth.tokens import digest, issue_access_token, new_api_key, new_refresh_token
from spatialviz.config import Settings
from spatialviz.kit.cache import Cache
from spatialviz.kit.db import utcnow
from spatialviz.kit.errors import NotFound
from spatialviz.kit.tenancy import Principal
from spatialviz.models import ApiKey, RefreshToken, Role, User, Workspace
from spatialviz.signing.signatures import GrantKind


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    user_id: uuid.UUID


class RefreshOutcome(enum.Enum):
    invalid = "invalid"
    reused = "reused"


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def register(
    session: AsyncSession,
    settings: Settings,
    *,
    email: str,
    password: str,
    display_name: str | None,
    ip: str | None,
) -> tuple[User, Workspace]:
    """Create the user and their personal workspace, or nothing at all."""
    email = normalize_email(email)
    problem = password_problem(password, email=email, min_length=settings.password_min_length)
    if problem is not None:
        raise WeakPassword(problem)
    users = UserRepository(session)
    if await users.by_email(email) is not None:
        raise EmailAlreadyRegistered()
    name = (display_name or "").strip() or email.split("@", 1)[0]
    try:
        user = await users.add(
            User(email=email, password_hash=await hash_password(password), display_name=name)
        )
    except IntegrityError:
        # A concurrent registration with the same email won the race.
        raise EmailAlreadyRegistered() from None
    workspace = await users.add_personal_workspace(user, f"{name}'s workspace"[:120])
    await record_audit(
        session,
        workspace_id=workspace.id,
        actor_id=user.id,
        action="user.registered",
        target_type="user",
        target_id=user.id,
        ip=ip,
    )
    return user, workspace


async def reachable_workspaces(session: AsyncSession, principal: Principal) -> list[Workspace]:
    """The workspaces the caller is a member of (bounded: a person is in a few)."""
    return list(await UserRepository(session).reachable_workspaces(principal, limit=1000))


async def _issue_pair(
    session: AsyncSession, settings: Settings, user_id: uuid.UUID, family_id: uuid.UUID
) -> TokenPair:
    refresh = new_refresh_token()
    await RefreshTokenRepository(session).add(
        RefreshToken(
            user_id=user_id,
            family_id=family_id,
            token_hash=digest(refresh),
            expires_at=utcnow() + timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
    )
    access = issue_access_token(settings, user_id, family_id)
    return TokenPair(access.token, refresh, access.expires_in, user_id)


async def sign_in(
    session: AsyncSession, settings: Settings, *, email: str, password: str, ip: str | None
) -> TokenPair | None:
    """A new token pair (a new refresh family), or None after recording the failure."""
    users = UserRepository(session)
    user = await users.by_email(normalize_email(email))
    valid = await verify_password(password, user.password_hash if user else None)
    if user is None or not valid or not user.is_active:
        if user is not None:
            await record_audit(
                session,
                workspace_id=await users.personal_workspace_id(user.id),
                actor_id=None,
                action="auth.sign_in_failed",
                target_type="user",
                target_id=user.id,
                ip=ip,
            )
        return None
    await users.touch_sign_in(user)
    pair = await _issue_pair(session, settings, user.id, uuid.uuid4())
    await record_audit(
        session,
        workspace_id=await users.personal_workspace_id(user.id),
        actor_id=user.id,
        action="auth.signed_in",
        target_type="user",
        target_id=user.id,
        ip=ip,
    )
    return pair


async def refresh(
    session: AsyncSession,
    cache: Cache,
    settings: Settings,
    *,
    refresh_token: str,
    ip: str | None,
) -> TokenPair | RefreshOutcome:
    """Rotate: the presented token is spent and a new pair of the same family issued.
    Presenting a spent token means two parties hold it; the whole family is revoked (the
    legitimate holder signs in again) and the reuse is audited."""
    tokens = RefreshTokenRepository(session)
    row = await tokens.by_hash(digest(refresh_token))
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return RefreshOutcome.invalid
    users = UserRepository(session)
    if row.used_at is not None or not await tokens.mark_used(row.id, now):
        await _revoke_family(session, cache, settings, row.family_id, now)
        await record_audit(
            session,
            workspace_id=await users.personal_workspace_id(row.user_id),
            actor_id=None,
            action="auth.refresh_reused",
            target_type="user",
            target_id=row.user_id,
            details={"family_id": str(row.family_id)},
            ip=ip,
        )
        return RefreshOutcome.reused
    if await users.active_by_id(row.user_id) is None:
        return RefreshOutcome.invalid
    return await _issue_pair(session, settings, row.user_id, row.family_id)


async def _revoke_family(
    session: AsyncSession, cache: Cache, settings: Settings, family_id: uuid.UUID, now: datetime
) -> None:
    await RefreshTokenRepository(session).revoke_family(family_id, now)
    # Access tokens of the family die too; they expire within one access-token lifetime.
    await revoke_session(cache, family_id, settings.access_token_ttl_seconds + 60)


async def sign_out(
    session: AsyncSession,
    cache: Cache,
    settings: Settings,
    principal: Principal,
    *,
    seconds_left: float,
    ip: str | None,
) -> None:
    if principal.token_id is not None:
        await revoke_token(cache, principal.token_id, seconds_left + 60)
    if principal.session_id is not None:
        await _revoke_family(session, cache, settings, principal.session_id, utcnow())
    await record_audit(
        session,
        workspace_id=await UserRepository(session).personal_workspace_id(principal.user_id),
        actor_id=principal.user_id,
        api_key_id=principal.api_key_id,
        action="auth.signed_out",
        target_type="user",
        target_id=principal.user_id,
        ip=ip,
    )


async def current_user(session: AsyncSession, principal: Principal) -> User:
    user = await UserRepository(session).active_by_id(principal.user_id)
    if user is None:
        raise NotFound("User not found")
    return user


# API keys ------------------------------------------------------------------------------


async def create_api_key(
    session: AsyncSession,
    principal: Principal,
    *,
    workspace_id: uuid.UUID,
    name: str,
    role: Role,
    expires_at: datetime | None,
    ip: str | None,
) -> tuple[ApiKey, str]:
    """The key row and the full key, which is shown once and never stored."""
    full, prefix = new_api_key()
    key = await ApiKeyRepository(session).add(
        ApiKey(
            workspace_id=workspace_id,
            created_by_id=principal.user_id,
            name=name,
            prefix=prefix,
            key_hash=digest(full),
            role=role,
            expires_at=expires_at,
        )
    )
    await record_audit(
        session,
        workspace_id=workspace_id,
        actor_id=principal.user_id,
        api_key_id=principal.api_key_id,
        action="api_key.created",
        target_type="api_key",
        target_id=key.id,
        details={"prefix": prefix, "role": role.value, "name": name},
        ip=ip,
    )
    return key, full


async def list_api_keys(
    session: AsyncSession, principal: Principal, *, workspace_id: uuid.UUID | None, limit: int
) -> Sequence[ApiKey]:
    return await ApiKeyRepository(session).list_active(
        principal, workspace_id=workspace_id, limit=limit
    )


async def revoke_api_key(
    session: AsyncSession, cache: Cache, principal: Principal, key: ApiKey, *, ip: str | None
) -> None:
    key.revoked_at = utcnow()
    await session.flush()
    # Tile signatures minted with the key end with it.
    await grants.forget_grants(session, cache, [(GrantKind.api_key.value, key.id)])
    await record_audit(
        session,
        workspace_id=key.workspace_id,
        actor_id=principal.user_id,
        api_key_id=principal.api_key_id,
        action="api_key.revoked",
        target_type="api_key",
        target_id=key.id,
        details={"prefix": key.prefix},
        ip=ip,
    )


# Disabling accounts (administrators: ``spatialviz users disable``) -------------------


async def set_user_disabled(
    session: AsyncSession, cache: Cache, *, email: str, disabled: bool
) -> User:
    """Disable (or enable again) an account. Disabled, its access tokens are refused on the
    next request (every request loads the active user), its refresh tokens are revoked, its
    API keys stop (a key needs an active creator) and so do tile signatures minted from its
    access (their cached grants are dropped here). Nothing of its data is deleted."""
    users = UserRepository(session)
    user = await users.by_email(normalize_email(email))
    if user is None:
        raise NotFound("No account with this email", code="user_not_found")
    now = utcnow()
    user.is_active = not disabled
    user.disabled_at = now if disabled else None
    if disabled:
        await RefreshTokenRepository(session).revoke_all_of_user(user.id, now)
        await users.bump_access_generations(user.id)
    await session.flush()
    await grants.forget_user_grants(session, cache, user.id)
    await record_audit(
        session,
        workspace_id=await users.personal_workspace_id(user.id),
        actor_id=None,
        action="user.disabled" if disabled else "user.enabled",
        target_type="user",
        target_id=user.id,
    )
    return user
