"""Scene errors, each with its HTTP status."""

from __future__ import annotations

from spatialviz.kit.errors import (
    Conflict,
    Forbidden,
    InvalidField,
    NotFound,
    SpatialvizError,
    UnprocessableEntity,
)


class SceneNotFound(NotFound):
    code = "scene_not_found"
    title = "Scene not found"


class ShareLinkNotFound(NotFound):
    code = "share_link_not_found"
    title = "Share link not found"


class TileNotFound(NotFound):
    code = "tile_not_found"
    title = "Tile not found"


class TilesetNotReady(Conflict):
    code = "tileset_not_ready"
    title = "The scene's tileset is not ready"


class DatasetNotReady(Conflict):
    code = "dataset_not_ready"
    title = "The dataset is not ready"


class FieldError(UnprocessableEntity):
    """A 422 naming one request field (``errors[0].field``), e.g. ``encoding.color.column``."""

    def __init__(self, field: str, message: str, *, code: str = "invalid_field") -> None:
        super().__init__(f"{field}: {message}", code=code)
        self.field = field
        self.message = message

    def invalid_fields(self) -> list[InvalidField]:
        return [{"field": self.field, "message": self.message}]


class InvalidEncoding(FieldError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message, code="invalid_encoding")


class QueryLimitExceeded(FieldError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message, code="query_limit")


class RowNotFoundError(NotFound):
    code = "row_not_found"
    title = "Row not found"


class SignatureRejected(Forbidden):
    """Tampered, expired or revoked tile signature or share token."""

    code = "signature_invalid"
    title = "Invalid signature"


class RangeNotSatisfiableError(SpatialvizError):
    status = 416
    code = "range_not_satisfiable"
    title = "Range not satisfiable"
