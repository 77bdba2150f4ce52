"""Share links: create, list and revoke them, and prove a share token before anything is
looked up. No FastAPI imports; never commits."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.audit.service import record_audit
from spatialviz.auth import grants
from spatialviz.config import Settings
from spatialviz.kit import keyring
from spatialviz.kit.cache import Cache
from spatialviz.kit.db import utcnow
from spatialviz.kit.tenancy import Principal, require_role
from spatialviz.models.scene import ShareLink
from spatialviz.models.workspace import Role
from spatialviz.realtime.channels import register_share_verifier
from spatialviz.scene import delivery, service
from spatialviz.scene.exceptions import ShareLinkNotFound, SignatureRejected
from spatialviz.scene.repository import ShareLinkRepository
from spatialviz.signing import signatures


def share_url(settings: Settings, link: ShareLink, request_origin: str) -> str:
    """The link's web-client URL: under the configured public URL, else under the origin
    the creating request came to (so it works on whatever address the server runs)."""
    token = signatures.issue_share_token(
        link.id,
        link.scene_id,
        link.expires_at,
        keyring.tile_signing_secret(settings, time.time()),
    )
    base = (settings.public_base_url or request_origin).rstrip("/")
    return f"{base}/scenes/{link.scene_id}?share={token}"


async def create_share_link(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    scene_id: uuid.UUID,
    *,
    expires_in_seconds: int | None,
) -> ShareLink:
    scene = await service.get_scene(session, principal, scene_id)
    require_role(principal, scene.workspace_id, Role.editor)
    ttl = expires_in_seconds or settings.scene_share_link_ttl_seconds
    ttl = min(ttl, settings.scene_share_link_max_ttl_seconds)
    link = ShareLink(
        id=uuid.uuid4(),
        workspace_id=scene.workspace_id,
        scene_id=scene.id,
        created_by_id=principal.user_id,
        expires_at=(utcnow() + timedelta(seconds=ttl)).replace(microsecond=0),
    )
    session.add(link)
    await session.flush()
    await record_audit(
        session,
        workspace_id=scene.workspace_id,
        actor_id=principal.user_id,
        api_key_id=principal.api_key_id,
        action="scene.share_link_created",
        target_type="share_link",
        target_id=link.id,
        details={"scene_id": str(scene.id), "expires_at": link.expires_at.isoformat()},
    )
    return link


async def list_share_links(
    session: AsyncSession, principal: Principal, scene_id: uuid.UUID
) -> list[ShareLink]:
    scene = await service.get_scene(session, principal, scene_id)
    require_role(principal, scene.workspace_id, Role.editor)
    return list(await ShareLinkRepository(session).for_scene(principal, scene.id))


async def revoke_share_link(
    session: AsyncSession,
    cache: Cache,
    principal: Principal,
    scene_id: uuid.UUID,
    link_id: uuid.UUID,
) -> None:
    scene = await service.get_scene(session, principal, scene_id)
    require_role(principal, scene.workspace_id, Role.editor)
    link = await ShareLinkRepository(session).get(principal, link_id)
    if link is None or link.scene_id != scene.id:
        raise ShareLinkNotFound("Share link not found.")
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        await record_audit(
            session,
            workspace_id=scene.workspace_id,
            actor_id=principal.user_id,
            api_key_id=principal.api_key_id,
            action="scene.share_link_revoked",
            target_type="share_link",
            target_id=link.id,
            details={"scene_id": str(scene.id)},
        )
        await session.flush()
    await delivery.forget_delivery(session, cache, scene.id)
    await grants.forget_grants(session, cache, [(signatures.GrantKind.share.value, link.id)])


def authenticate_share_token(
    token: str, scene_id: uuid.UUID, settings: Settings
) -> signatures.ShareToken:
    """A share token proven authentic, unexpired and for this scene; 403 otherwise, before
    anything is looked up (so the answer is the same for a missing scene)."""
    share = verify_share_token(token, settings)
    if share.scene_id != scene_id:
        raise SignatureRejected("The share link is for another scene.")
    return share


def verify_share_token(token: str, settings: Settings) -> signatures.ShareToken:
    """A share token proven authentic and unexpired (for whichever scene it names); 403
    otherwise. Whether the link was revoked is ``check_share_grant``'s to say."""
    now = time.time()
    failure: signatures.SignatureError = signatures.SignatureInvalid("no signing secret")
    for secret in keyring.tile_secrets(settings, now, shares=True):
        try:
            return signatures.verify_share_token(token, now, secret)
        except signatures.SignatureInvalid as exc:
            failure = exc  # another secret may have made it
        except signatures.SignatureError as exc:
            failure = exc  # authentic but expired: no other secret will do better
            break
    raise SignatureRejected(str(failure), code=failure.code)


# A share link's WebSocket (realtime/endpoints.py) is proven as its HTTP requests are.
register_share_verifier(verify_share_token)


def check_share_grant(grant: grants.GrantState) -> None:
    if grant.alive_at(time.time()) is None:
        raise SignatureRejected("The share link was revoked.", code="signature_revoked")


def share_expiry(link: ShareLink) -> datetime:
    return link.expires_at.astimezone(UTC)
