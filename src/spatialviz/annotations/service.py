"""Annotation logic: who may add and remove, the per-scene limit, the audit trail, and the
live announcement (the scene's whole list, published once the change has committed)."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from spatialviz.annotations.exceptions import (
    AnnotationLimitReached,
    AnnotationNotFound,
    NotYourAnnotation,
)
from spatialviz.annotations.repository import AnnotationRepository
from spatialviz.annotations.schemas import (
    MAX_PER_SCENE,
    AnnotationCreate,
    AnnotationOut,
    annotations_message,
    channel_of,
)
from spatialviz.audit.service import record_audit
from spatialviz.kit.cache import PubSub
from spatialviz.kit.db import after_commit
from spatialviz.kit.tenancy import Principal, require_role
from spatialviz.models.annotation import Annotation
from spatialviz.models.scene import Scene
from spatialviz.models.workspace import Role
from spatialviz.scene.exceptions import SceneNotFound

log = structlog.get_logger(__name__)


def annotation_out(annotation: Annotation, author_name: str | None) -> AnnotationOut:
    return AnnotationOut(
        id=annotation.id,
        scene_id=annotation.scene_id,
        text=annotation.text,
        position=[annotation.x, annotation.y, annotation.z],
        row_id=annotation.row_id,
        author_id=annotation.author_id,
        author_name=author_name or None,
        created_at=annotation.created_at,
    )


async def list_annotations(
    session: AsyncSession, scene_id: uuid.UUID, *, with_authors: bool = True
) -> list[AnnotationOut]:
    """Every annotation of a scene whose access the caller has proven."""
    rows = await AnnotationRepository(session).of_scene(scene_id)
    return [annotation_out(a, name if with_authors else None) for a, name in rows]


async def writable_scene(session: AsyncSession, principal: Principal, scene_id: uuid.UUID) -> Scene:
    """The scene, locked until commit, if the caller is an editor of its workspace: 404
    outside the caller's workspaces, 403 for a viewer."""
    scene = await AnnotationRepository(session).scene_for(principal, scene_id, lock=True)
    if scene is None:
        raise SceneNotFound("Scene not found.")
    require_role(principal, scene.workspace_id, Role.editor)
    return scene


async def create_annotation(
    session: AsyncSession,
    pubsub: PubSub,
    principal: Principal,
    scene: Scene,
    body: AnnotationCreate,
) -> AnnotationOut:
    """Adds a note to ``scene`` (from :func:`writable_scene`)."""
    repository = AnnotationRepository(session)
    if await repository.count(scene.id) >= MAX_PER_SCENE:
        raise AnnotationLimitReached(
            f"A scene holds at most {MAX_PER_SCENE} annotations; remove one first."
        )
    x, y, z = body.position
    annotation = Annotation(
        id=uuid.uuid4(),
        workspace_id=scene.workspace_id,
        scene_id=scene.id,
        author_id=principal.user_id,
        text=body.text,
        x=x,
        y=y,
        z=z,
        row_id=body.row_id,
    )
    await repository.add(annotation)
    await record_audit(
        session,
        workspace_id=scene.workspace_id,
        actor_id=principal.user_id,
        api_key_id=principal.api_key_id,
        action="annotation.created",
        target_type="annotation",
        target_id=annotation.id,
        details={"scene_id": str(scene.id)},
    )
    items = await _announce_after_commit(session, pubsub, scene.id)
    return next(a for a in items if a.id == annotation.id)


async def delete_annotation(
    session: AsyncSession,
    pubsub: PubSub,
    principal: Principal,
    scene: Scene,
    annotation_id: uuid.UUID,
) -> None:
    """Its author (still an editor) or a workspace owner removes it."""
    repository = AnnotationRepository(session)
    annotation = await repository.get(scene.id, annotation_id)
    if annotation is None:
        raise AnnotationNotFound("Annotation not found.")
    owner = principal.can(scene.workspace_id, Role.owner)
    if annotation.author_id != principal.user_id and not owner:
        raise NotYourAnnotation("Only its author or a workspace owner may remove it.")
    await repository.remove(annotation)
    await record_audit(
        session,
        workspace_id=scene.workspace_id,
        actor_id=principal.user_id,
        api_key_id=principal.api_key_id,
        action="annotation.deleted",
        target_type="annotation",
        target_id=annotation_id,
        details={
            "scene_id": str(scene.id),
            "author_id": str(annotation.author_id) if annotation.author_id else None,
        },
    )
    await _announce_after_commit(session, pubsub, scene.id)


async def _announce_after_commit(
    session: AsyncSession, pubsub: PubSub, scene_id: uuid.UUID
) -> list[AnnotationOut]:
    """The list as this transaction leaves it, published once it has committed (a rollback
    announces nothing). Concurrent writers may publish out of order; the hub re-reads
    every few seconds (realtime/hub.py), so subscribers converge on the committed list."""
    items = await list_annotations(session, scene_id)
    message = annotations_message(scene_id, items)
    channel = channel_of(scene_id)

    async def publish() -> None:
        try:
            await pubsub.publish(channel, message)
        except Exception as exc:  # the change is committed; the resync catches up
            log.warning("annotations_publish_failed", scene_id=str(scene_id), error=repr(exc))

    after_commit(session, publish)
    return items
