"""Who may read a scene, and what each proof reaches (issue 16):

- a signed tile URL (``?sig=``) reaches the scene's tile bytes only — ``tileset.json`` and
  its tiles — while its grant lives (``auth.grants``); never the scene's metadata, its rows
  (``/query``) or a fresh signature;
- a share link (``?share=`` or the ``X-Share-Token`` header) reads the scene, its tiles and
  its rows until the link expires or is revoked, and its responses carry signatures bound
  to the link;
- a bearer credential (access token or API key) reads whatever its workspaces allow.

Signatures and share tokens are proven (MAC) before anything is looked up, so a forged one
answers 403 whether or not the scene exists; their grants are checked against cached
facts, without a database query on the hot path.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Query
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.auth import grants
from spatialviz.auth.deps import authenticate_bearer, bearer_scheme
from spatialviz.auth.exceptions import MissingCredentials
from spatialviz.kit.deps import ResourcesDep, SessionDep
from spatialviz.kit.resources import Resources
from spatialviz.kit.tenancy import Principal
from spatialviz.scene import delivery, service, sharing
from spatialviz.scene.delivery import Delivery
from spatialviz.signing.signatures import Grant, GrantKind


@dataclass(frozen=True)
class SceneAccess:
    """A proven right to read one scene, and how it was proven."""

    entry: Delivery
    principal: Principal | None = None
    share_id: uuid.UUID | None = None
    via: str = "bearer"  # "bearer" | "signature" | "share"
    #: For share access: the link as a grant (tileset URLs are minted from it) and its end.
    share_grant: Grant | None = None
    share_until: int | None = None


ShareQuery = Annotated[str | None, Query(max_length=200, description="Share token")]
ShareHeader = Annotated[str | None, Header(max_length=200)]


async def _by_share(
    scene_id: uuid.UUID, token: str, resources: Resources, session: AsyncSession
) -> SceneAccess:
    settings = resources.settings
    shared = sharing.authenticate_share_token(token, scene_id, settings)
    state = await grants.state(session, resources.cache, settings, GrantKind.share, shared.share_id)
    sharing.check_share_grant(state)
    entry = await delivery.delivery(session, resources.cache, settings, scene_id)
    return SceneAccess(
        entry,
        share_id=shared.share_id,
        via="share",
        share_grant=Grant(GrantKind.share, shared.share_id, 0),
        share_until=min(shared.expires_at, state.until or shared.expires_at),
    )


async def _by_bearer(
    scene_id: uuid.UUID, token: str | None, resources: Resources, session: AsyncSession
) -> SceneAccess:
    if not token:
        raise MissingCredentials()
    principal = await authenticate_bearer(resources, session, token)
    await service.get_scene(session, principal, scene_id)  # 404 outside the caller's workspaces
    entry = await delivery.delivery(session, resources.cache, resources.settings, scene_id)
    return SceneAccess(entry, principal=principal)


async def get_scene_access(
    scene_id: uuid.UUID,
    resources: ResourcesDep,
    session: SessionDep,
    token: Annotated[str | None, Depends(bearer_scheme)],
    share: ShareQuery = None,
    x_share_token: ShareHeader = None,
) -> SceneAccess:
    """A share token or a bearer credential; a tile signature is not enough here."""
    share_token = share or x_share_token
    if share_token:
        return await _by_share(scene_id, share_token, resources, session)
    return await _by_bearer(scene_id, token, resources, session)


async def get_tile_access(
    scene_id: uuid.UUID,
    resources: ResourcesDep,
    session: SessionDep,
    token: Annotated[str | None, Depends(bearer_scheme)],
    sig: Annotated[str | None, Query(max_length=200, description="Tile URL signature")] = None,
    share: ShareQuery = None,
    x_share_token: ShareHeader = None,
) -> SceneAccess:
    """A tile signature, a share token or a bearer credential: for tile bytes only."""
    if sig:
        settings = resources.settings
        signed = delivery.authenticate_signature(sig, scene_id, settings)
        state = await grants.state(
            session, resources.cache, settings, signed.grant.kind, signed.grant.id
        )
        entry = await delivery.delivery(session, resources.cache, settings, scene_id)
        delivery.check_signature(entry, signed, state)
        return SceneAccess(entry, share_id=signed.share_id, via="signature")
    return await get_scene_access(scene_id, resources, session, token, share, x_share_token)


SceneReadable = Annotated[SceneAccess, Depends(get_scene_access)]
"""Read access to ``{scene_id}`` by share link or bearer credential (not by signature)."""

SceneTilesReadable = Annotated[SceneAccess, Depends(get_tile_access)]
"""Read access to ``{scene_id}``'s tile bytes: signature, share link or bearer credential."""
