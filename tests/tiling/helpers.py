"""Reading a written tileset back: every tile, its box, its decoded points."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from spatialviz.tiling.glb import PointContent, decode_points, decode_sidecar, read_glb
from spatialviz.tiling.nodes import SIDECAR_SUFFIX


@dataclass
class TileVisit:
    path: Path
    """The tile's content file."""
    box: list[float]
    depth: int
    geometric_error: float
    parent_box: list[float] | None
    parent_error: float | None
    sidecar: Path | None = None
    """The node's sidecar (the tile's extras.spatialviz.attributes), if it has one."""


def load_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def walk(tileset_path: Path) -> Iterator[TileVisit]:
    """Every GLB-bearing tile, following external tilesets."""

    def visit(
        tile: dict[str, Any], base: Path, depth: int, parent: dict[str, Any] | None
    ) -> Iterator[TileVisit]:
        uri = tile.get("content", {}).get("uri")
        if uri and uri.endswith(".json"):
            sub = load_json(base / uri)
            yield from visit(sub["root"], (base / uri).parent, depth + 1, tile)
        elif uri:
            sidecar = tile.get("extras", {}).get("spatialviz", {}).get("attributes")
            yield TileVisit(
                sidecar=base / sidecar if sidecar else None,
                path=base / uri,
                box=tile["boundingVolume"]["box"],
                depth=depth,
                geometric_error=tile["geometricError"],
                parent_box=parent["boundingVolume"]["box"] if parent else None,
                parent_error=parent["geometricError"] if parent else None,
            )
        for child in tile.get("children", []):
            yield from visit(child, base, depth + 1, tile)

    root = load_json(tileset_path)
    yield from visit(root["root"], tileset_path.parent, 0, None)


def all_tilesets(out: Path) -> list[Path]:
    return [out / "tileset.json", *sorted((out / "tiles").glob("*.json"))]


def decode(path: Path) -> tuple[PointContent, npt.NDArray[np.float64]]:
    """A tile's points, with the columns of its sidecar if it has one (row i: point i), and
    its per-axis quantization step in the z-up frame."""
    data = path.read_bytes()
    doc, _ = read_glb(data)
    sx, sy, sz = doc["nodes"][0]["scale"]
    content = decode_points(data)
    sidecar = path.with_name(path.name.removesuffix(".glb") + SIDECAR_SUFFIX)
    if sidecar.exists():
        extra = decode_sidecar(sidecar.read_bytes())
        assert not set(extra) & set(content.properties), "a column in both files"
        content = replace(content, properties={**content.properties, **extra})
    return content, np.array([sx, sz, sy])


def box_bounds(box: list[float]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    c = np.array(box[:3])
    h = np.array([box[3], box[7], box[11]])
    return c - h, c + h
