"""Scene request and response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from spatialviz.job.schemas import JobRead
from spatialviz.kit.names import Name
from spatialviz.models.scene import SceneStatus
from spatialviz.styling.encoding import ResolvedEncoding
from spatialviz.styling.transform import ChartAxes


class SceneCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset_id: uuid.UUID
    name: Name | None = Field(default=None, min_length=1, max_length=255)
    encoding: dict[str, Any] | None = Field(
        default=None,
        description="A scene encoding (see docs/scenes.md); omitted parts get defaults.",
    )


class SceneUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = Field(default=None, min_length=1, max_length=255)
    encoding: dict[str, Any] | None = None


class Attribute(BaseModel):
    name: str
    kind: Literal["continuous", "categorical"]
    min: float | None = None
    max: float | None = None
    categories: list[Any] | None = None
    category_counts: list[int] | None = Field(
        default=None, description="Rows per category, in the order of `categories` (text columns)"
    )
    other_count: int | None = Field(
        default=None, description="Rows whose value is none of `categories` (past the bound)"
    )
    unit: str | None = None


class SceneOut(BaseModel):
    id: uuid.UUID
    dataset_id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    status: SceneStatus
    encoding: dict[str, Any]
    resolved_encoding: ResolvedEncoding
    job_id: uuid.UUID | None
    error_code: str | None
    error_message: str | None
    axes: ChartAxes | None = Field(
        description="Chart axes (labels, data ranges, ticks) when the encoding has a chart box"
    )
    attributes: list[Attribute]
    tileset_url: str | None = Field(
        description="Path of tileset.json with a short-lived signature; null until ready"
    )
    tileset_version: str | None
    frame: Literal["dataset", "chart"] = Field(
        description="'dataset': tiles are in the dataset's x/y/z; 'chart': in the chart box"
    )
    created_at: datetime
    updated_at: datetime


class SceneAccepted(BaseModel):
    scene: SceneOut
    job: JobRead | None


class ShareLinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_in_seconds: int | None = Field(default=None, ge=60)


class ShareLinkOut(BaseModel):
    id: uuid.UUID
    scene_id: uuid.UUID
    url: str | None = Field(description="Opens the scene in the web client (only at creation)")
    expires_at: datetime
    revoked_at: datetime | None
    created_at: datetime


class PickQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["pick"]
    row: int = Field(ge=0, description="The row_id (0-based row of the source file)")


Vec3 = Annotated[list[float], Field(min_length=3, max_length=3)]


class BoxQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["box"]
    min: Vec3
    max: Vec3
    samples: int | None = Field(default=None, ge=0)
    frame: Literal["dataset", "scene"] = Field(
        default="dataset",
        description="'dataset': min/max in the dataset's own x/y/z; 'scene': in the frame the "
        "scene draws (tile positions plus the tileset's extras.spatialviz.center: east-north-up "
        "metres for a georeferenced scene, chart-box coordinates for a chart); rows the "
        "encoding's filter leaves out are not counted",
    )


class SphereQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["sphere"]
    center: Vec3
    radius: float = Field(ge=0)
    samples: int | None = Field(default=None, ge=0)


class KnnQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["knn"]
    point: Vec3
    k: int = Field(ge=1)


SceneQuery = Annotated[PickQuery | BoxQuery | SphereQuery | KnnQuery, Field(discriminator="kind")]


class ExportAccepted(BaseModel):
    job: JobRead
