"""TypedDicts mirroring the 3D Tiles 1.1 JSON we write (only the parts we use)."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


class Asset(TypedDict):
    version: str
    generator: NotRequired[str]


class BoundingVolume(TypedDict):
    box: list[float]
    """Centre (3) then the three half-axis vectors (9), in the tileset's local frame."""


class Content(TypedDict):
    uri: str


class Tile(TypedDict):
    boundingVolume: BoundingVolume
    geometricError: float
    refine: NotRequired[Literal["ADD", "REPLACE"]]
    content: NotRequired[Content]
    children: NotRequired[list[Tile]]
    transform: NotRequired[list[float]]
    extras: NotRequired[dict[str, object]]


class Tileset(TypedDict):
    asset: Asset
    geometricError: float
    root: Tile
    extras: NotRequired[dict[str, object]]
