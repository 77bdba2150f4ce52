"""Who may read a scene: a signed tile URL (``?sig=``), a share link (``?share=`` or the
``X-Share-Token`` header) or a normal bearer credential. Signatures and share tokens are
checked against cached facts, without a database query on the hot path."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Query

from spatialviz.auth.deps import authenticate_bearer, bearer_scheme
from spatialviz.auth.exceptions import MissingCredentials
from spatialviz.kit.deps import ResourcesDep, SessionDep
from spatialviz.kit.tenancy import Principal
from spatialviz.scene import service
from spatialviz.scene.service import Delivery


@dataclass(frozen=True)
class SceneAccess:
    """A proven right to read one scene, and how it was proven."""

    entry: Delivery
    principal: Principal | None = None
    share_id: uuid.UUID | None = None
    via: str = "bearer"  # "bearer" | "signature" | "share"


async def get_scene_access(
    scene_id: uuid.UUID,
    resources: ResourcesDep,
    session: SessionDep,
    token: Annotated[str | None, Depends(bearer_scheme)],
    sig: Annotated[str | None, Query(max_length=200, description="Tile URL signature")] = None,
    share: Annotated[str | None, Query(max_length=200, description="Share token")] = None,
    x_share_token: Annotated[str | None, Header(max_length=200)] = None,
) -> SceneAccess:
    settings = resources.settings
    share_token = share or x_share_token
    if sig:
        entry = await service.delivery(session, resources.cache, settings, scene_id)
        grant = service.check_signature(entry, sig, settings)
        return SceneAccess(entry, share_id=grant.share_id, via="signature")
    if share_token:
        entry = await service.delivery(session, resources.cache, settings, scene_id)
        shared = service.check_share_token(entry, share_token, settings)
        return SceneAccess(entry, share_id=shared.share_id, via="share")
    if not token:
        raise MissingCredentials()
    principal = await authenticate_bearer(resources, session, token)
    await service.get_scene(session, principal, scene_id)  # 404 outside the caller's workspaces
    entry = await service.delivery(session, resources.cache, settings, scene_id)
    return SceneAccess(entry, principal=principal)


SceneReadable = Annotated[SceneAccess, Depends(get_scene_access)]
"""Read access to ``{scene_id}`` by signature, share link or bearer credential."""
