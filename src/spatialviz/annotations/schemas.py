"""Annotation request and response models, and the limits a client cannot exceed."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from spatialviz.kit.names import Name

#: The longest note (characters): a label read in 3D, not a document.
MAX_TEXT = 280
#: Notes per scene: each live update carries the scene's whole list (a complete state, as
#: every realtime message is), so the list stays small enough to resend.
MAX_PER_SCENE = 200
#: |coordinate| bound: ECEF metres and projected map coordinates are far below it; it keeps
#: a client from storing values no renderer can place.
MAX_COORDINATE = 1e12

#: Row ids a JSON number carries exactly in every client (and in the schema's own bound).
MAX_ROW_ID = 2**53

Coordinate = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_COORDINATE, le=MAX_COORDINATE)]


class AnnotationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Name = Field(min_length=1, max_length=MAX_TEXT)
    position: list[Coordinate] = Field(
        min_length=3,
        max_length=3,
        description="x, y, z in the scene's frame: the dataset's coordinates when the scene "
        "is in them, else the tileset's (georeferenced: ECEF; charts: the chart box)",
    )
    row_id: int | None = Field(
        default=None,
        ge=0,
        le=MAX_ROW_ID,
        description="The picked point's row, if any",
    )


class AnnotationOut(BaseModel):
    id: uuid.UUID
    scene_id: uuid.UUID
    text: str
    position: list[float]
    row_id: int | None
    author_id: uuid.UUID | None
    author_name: str | None = Field(
        description="The author's display name; null through a share link or when unset"
    )
    created_at: datetime


class AnnotationsMessage(BaseModel):
    """The realtime message on ``annotations:<scene_id>``: the scene's whole list."""

    type: str = "annotations"
    channel: str
    scene_id: uuid.UUID
    annotations: list[AnnotationOut]


def channel_of(scene_id: uuid.UUID) -> str:
    return f"annotations:{scene_id}"


def annotations_message(scene_id: uuid.UUID, items: list[AnnotationOut]) -> bytes:
    body = AnnotationsMessage(channel=channel_of(scene_id), scene_id=scene_id, annotations=items)
    return json.dumps(body.model_dump(mode="json"), separators=(",", ":")).encode()


def without_authors(message: bytes) -> bytes:
    """The message as a share link shows it: the authors' names left out, as over HTTP."""
    body = json.loads(message)
    for item in body.get("annotations", []):
        item["author_name"] = None
    return json.dumps(body, separators=(",", ":")).encode()
