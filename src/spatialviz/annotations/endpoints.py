"""Annotation routes, under the scene they belong to, and their realtime channel
``annotations:<scene_id>`` (docs/annotations.md)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from spatialviz.annotations import service
from spatialviz.annotations.repository import AnnotationRepository
from spatialviz.annotations.schemas import (
    AnnotationCreate,
    AnnotationOut,
    annotations_message,
    without_authors,
)
from spatialviz.auth.deps import CurrentPrincipal
from spatialviz.kit.deps import ResourcesDep, SessionDep
from spatialviz.kit.errors import problem_responses
from spatialviz.kit.resources import Resources
from spatialviz.models.scene import Scene
from spatialviz.realtime.channels import Snapshot, register_channel
from spatialviz.scene.auth import SceneReadable

router = APIRouter(prefix="/api/v1/scenes", tags=["annotations"])


async def get_writable_scene(
    scene_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> Scene:
    """A dependency, so the scene is checked before the body: another workspace's scene
    is 404 whatever was sent."""
    return await service.writable_scene(session, principal, scene_id)


WritableScene = Annotated[Scene, Depends(get_writable_scene)]


@router.get(
    "/{scene_id}/annotations",
    summary="The scene's annotations, oldest first (bearer credential or share token)",
    responses=problem_responses(401, 403, 404, 429),
)
async def list_annotations(access: SceneReadable, session: SessionDep) -> list[AnnotationOut]:
    # Through a share link the notes are shown, their authors' names are not.
    return await service.list_annotations(
        session, access.entry.scene_id, with_authors=access.principal is not None
    )


@router.post(
    "/{scene_id}/annotations",
    status_code=status.HTTP_201_CREATED,
    summary="Pin a note to a point of the scene (editors); announced on annotations:<id>",
    responses=problem_responses(401, 403, 404, 409, 422, 429),
)
async def create_annotation(
    scene: WritableScene,
    body: AnnotationCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    resources: ResourcesDep,
) -> AnnotationOut:
    return await service.create_annotation(session, resources.pubsub, principal, scene, body)


@router.delete(
    "/{scene_id}/annotations/{annotation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an annotation (its author, or a workspace owner)",
    responses=problem_responses(401, 403, 404, 429),
)
async def delete_annotation(
    scene: WritableScene,
    annotation_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    resources: ResourcesDep,
) -> Response:
    await service.delete_annotation(session, resources.pubsub, principal, scene, annotation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def annotations_snapshot(resources: Resources, ident: str) -> Snapshot | None:
    """One read for all of a scene's subscribers; the hub checks each one's workspace."""
    try:
        scene_id = uuid.UUID(ident)
    except ValueError:
        return None
    async with resources.sessions() as session:
        workspace_id = await AnnotationRepository(session).scene_workspace(scene_id)
        if workspace_id is None:
            return None
        items = await service.list_annotations(session, scene_id)
        return Snapshot(workspace_id, annotations_message(scene_id, items), final=False)


register_channel("annotations", annotations_snapshot, for_share=without_authors)
