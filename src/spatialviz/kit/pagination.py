"""Keyset pagination: ``?limit=&cursor=``; the cursor is opaque to clients."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from spatialviz.kit.errors import UnprocessableEntity

MAX_PAGE = 200
T = TypeVar("T")

LimitQuery = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size")]
CursorQuery = Annotated[str | None, Query(max_length=200, description="From next_cursor")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(created_at: datetime, object_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{object_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, _, object_id = base64.urlsafe_b64decode(padded).decode().partition("|")
        return datetime.fromisoformat(created), uuid.UUID(object_id)
    except ValueError:
        raise UnprocessableEntity("The cursor is not valid.", code="bad_cursor") from None
