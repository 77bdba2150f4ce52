"""What tile signatures are minted from, and whether that access is still alive.

A signature names its grant (``signing.Grant``): the membership of the person who asked for
the scene, the API key that asked, or the share link that opened it. The grant's state —
its revocation generation, and until when it lasts — lives in the database and is cached
here under ``tile-grant:<kind><id>`` (in-process or Redis, like every cache entry), so the
signed fast path checks revocation without a database read per tile.

Every change that ends access deletes the cached state now and again once it has committed
(:func:`forget_grants`): a member removed or their role changed, a user disabled, an API key
or share link revoked, a workspace deleted. The next signed request misses the cache, is
passed to the route, which reads the database and refuses it. A lookup racing a revocation
could put the old state back; the cache lifetime (``scene_grant_cache_seconds``, 5 s)
bounds that.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.auth.grant_repository import TileGrantRepository
from spatialviz.config import Settings
from spatialviz.kit.cache import Cache
from spatialviz.kit.db import after_commit
from spatialviz.kit.tenancy import Principal
from spatialviz.signing.signatures import Grant, GrantKind

_REVOKED = b"-"
#: The cache key namespace of grant states (hit/miss counted, ``kit.cache_metrics``).
CACHE_NAMESPACE = "tile-grant"


@dataclass(frozen=True)
class GrantState:
    """``generation`` None: the grant is gone (revoked, removed, disabled). ``until``: when it
    ends by itself (a share link's or API key's expiry), in Unix seconds."""

    generation: int | None
    until: int | None = None

    def alive_at(self, now: float) -> int | None:
        """The generation a signature must carry to be honoured at ``now``, or None."""
        if self.until is not None and now >= self.until:
            return None
        return self.generation

    def to_bytes(self) -> bytes:
        if self.generation is None:
            return _REVOKED
        return json.dumps({"g": self.generation, "u": self.until}).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> GrantState:
        if raw == _REVOKED:
            return GONE
        data = json.loads(raw)
        return cls(int(data["g"]), None if data["u"] is None else int(data["u"]))


GONE = GrantState(None)


def cache_key(kind: str, grant_id: uuid.UUID) -> str:
    return f"{CACHE_NAMESPACE}:{kind}{grant_id.hex}"


def _epoch(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


async def cached_state(cache: Cache, grant: Grant) -> GrantState | None:
    """The cached state only (None on a miss): what the fast path can use without a session."""
    raw = await cache.get(cache_key(grant.kind.value, grant.id))
    return None if raw is None else GrantState.from_bytes(raw)


async def _load(session: AsyncSession, kind: GrantKind, grant_id: uuid.UUID) -> GrantState:
    grants = TileGrantRepository(session)
    if kind is GrantKind.member:
        generation = await grants.member_generation(grant_id)
        return GONE if generation is None else GrantState(generation)
    if kind is GrantKind.api_key:
        key = await grants.api_key_state(grant_id)
        return GONE if key is None else GrantState(key[0], _epoch(key[1]))
    expiry = await grants.share_link_expiry(grant_id)
    return GONE if expiry is None else GrantState(0, _epoch(expiry))


async def state(
    session: AsyncSession, cache: Cache, settings: Settings, kind: GrantKind, grant_id: uuid.UUID
) -> GrantState:
    """The grant's current state: cached, else read and cached for a few seconds."""
    key = cache_key(kind.value, grant_id)
    raw = await cache.get(key)
    if raw is not None:
        return GrantState.from_bytes(raw)
    found = await _load(session, kind, grant_id)
    if settings.scene_grant_cache_seconds > 0:
        await cache.set(key, found.to_bytes(), settings.scene_grant_cache_seconds)
    return found


async def grant_for_principal(
    session: AsyncSession, principal: Principal, workspace_id: uuid.UUID
) -> tuple[Grant, int | None] | None:
    """The grant a bearer caller's signatures for a workspace's scenes derive from, and when
    it ends by itself; None when the caller has no live access there."""
    grants = TileGrantRepository(session)
    if principal.api_key_id is not None:
        key = await grants.api_key_state(principal.api_key_id)
        if key is None:
            return None
        return Grant(GrantKind.api_key, principal.api_key_id, key[0]), _epoch(key[1])
    membership = await grants.membership(workspace_id, principal.user_id)
    if membership is None:
        return None
    return Grant(GrantKind.member, membership[0], membership[1]), None


async def forget_grants(
    session: AsyncSession, cache: Cache, grants: Iterable[tuple[str, uuid.UUID]]
) -> None:
    """Drop cached grant states now and again once the change has committed."""
    keys = [cache_key(kind, grant_id) for kind, grant_id in grants]

    async def forget() -> None:
        for key in keys:
            await cache.delete(key)

    await forget()
    after_commit(session, forget)


async def forget_user_grants(
    session: AsyncSession,
    cache: Cache,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID | None = None,
) -> None:
    """A person's access changed (removed, role changed, disabled): every grant that
    depends on them, in one workspace or all, is read afresh."""
    found = await TileGrantRepository(session).grants_of_user(user_id, workspace_id)
    await forget_grants(session, cache, found)
