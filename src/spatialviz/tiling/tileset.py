"""The hierarchy as 3D Tiles 1.1 JSON: explicit tiles, tight boxes, ``refine: ADD``.

Every ``levels_per_tileset`` levels the tree continues in an external tileset
(``tiles/<node>.json``) so that no JSON file grows with the dataset: a client loads the
top of the tree at once and the rest only where it looks.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spatialviz.tiling.georef import enu_transform
from spatialviz.tiling.nodes import SIDECAR_SUFFIX, NodeRecord, node_name
from spatialviz.tiling.plan import Plan
from spatialviz.tiling.types import BoundingVolume, Tile, Tileset

GENERATOR = "spatialviz.tiling"


@dataclass
class _Node:
    level: int
    key: int
    lo: np.ndarray
    hi: np.ndarray
    record: NodeRecord | None
    children: list[_Node]


def geometric_error(plan: Plan, level: int) -> float:
    """Metres of detail missing when a node is shown without its children: about twice
    the spacing of its sampling grid."""
    return 2.0 * plan.size / float(1 << (level + plan.options.grid_bits))


def _box(lo: np.ndarray, hi: np.ndarray) -> BoundingVolume:
    c = (lo + hi) / 2
    h = np.maximum((hi - lo) / 2, 1e-6)  # flat data still needs a non-degenerate box
    return {
        "box": [
            float(c[0]),
            float(c[1]),
            float(c[2]),
            float(h[0]),
            0.0,
            0.0,
            0.0,
            float(h[1]),
            0.0,
            0.0,
            0.0,
            float(h[2]),
        ]
    }


def build_tree(records: list[NodeRecord]) -> _Node:
    """Link node records into a tree (adding content-less ancestors if any are missing)
    and give each node the tight box of its whole subtree."""
    nodes: dict[tuple[int, int], _Node] = {}
    for r in records:
        nodes[(r.level, r.key)] = _Node(r.level, r.key, np.array(r.lo), np.array(r.hi), r, [])
    by_level: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for ident in list(nodes):
        by_level[ident[0]].append(ident)
    for level in sorted(by_level, reverse=True):
        if level == 0:
            continue
        for ident in sorted(by_level[level]):
            node = nodes[ident]
            parent_id = (level - 1, ident[1] >> 3)
            parent = nodes.get(parent_id)
            if parent is None:
                parent = _Node(level - 1, parent_id[1], node.lo.copy(), node.hi.copy(), None, [])
                nodes[parent_id] = parent
                by_level[level - 1].append(parent_id)
            parent.children.append(node)
            parent.lo = np.minimum(parent.lo, node.lo)
            parent.hi = np.maximum(parent.hi, node.hi)
    return nodes[(0, 0)]


def write_tilesets(plan: Plan, records: list[NodeRecord]) -> int:
    """Write ``tileset.json`` and the external tilesets; return how many JSON files."""
    root = build_tree(records)
    out = Path(plan.output_dir)
    files = 0

    def tile_of(node: _Node, prefix: str, top_level: int) -> Tile:
        nonlocal files
        split = plan.options.levels_per_tileset
        # Only a node with descendants is worth a file of its own.
        if node.level != top_level and node.level % split == 0 and node.children:
            sub_root = tile_of(node, "", node.level)
            sub: Tileset = {
                "asset": {"version": "1.1", "generator": GENERATOR},
                "geometricError": geometric_error(plan, node.level - 1),
                "root": sub_root,
            }
            name = f"{node_name(node.level, node.key)}.json"
            (out / "tiles" / name).write_text(json.dumps(sub, separators=(",", ":")))
            files += 1
            # The pointer refines as soon as its parent does, so the node's own content
            # shows exactly when it would have without the split.
            return {
                "boundingVolume": _box(node.lo, node.hi),
                "geometricError": geometric_error(plan, node.level - 1),
                "content": {"uri": f"{prefix}{name}"},
            }
        tile: Tile = {
            "boundingVolume": _box(node.lo, node.hi),
            "geometricError": geometric_error(plan, node.level) if node.children else 0.0,
            "refine": "ADD",
        }
        if node.record is not None:
            tile["content"] = {"uri": f"{prefix}{node.record.name}.glb"}
            if node.record.sidecar:
                # Not content: 3D Tiles clients that know nothing of it load the tile alone.
                # Relative like the content URI (to this JSON file).
                sidecar = f"{prefix}{node.record.name}{SIDECAR_SUFFIX}"
                tile["extras"] = {"spatialviz": {"attributes": sidecar}}
        if node.children:
            ordered = sorted(node.children, key=lambda c: c.key)
            tile["children"] = [tile_of(c, prefix, top_level) for c in ordered]
        return tile

    root_tile = tile_of(root, "tiles/", 0)
    transform = enu_transform(plan.frame, plan.center)
    if transform is not None:
        root_tile["transform"] = transform
    tileset: Tileset = {
        "asset": {"version": "1.1", "generator": GENERATOR},
        "geometricError": 2.0 * geometric_error(plan, 0),
        "root": root_tile,
        "extras": {
            "spatialviz": {
                "points": plan.total_points,
                "center": list(plan.center),
                "crs": plan.crs_wkt,
                # Where the tiles' frame came from, and what looked wrong with the label.
                "georef": plan.georef,
                "bounds": [list(plan.bounds_min), list(plan.bounds_max)],
                # Tiles written before this key existed hold sRGB bytes in COLOR_0; the web
                # viewer decodes those for such tilesets only.
                "color_space": "linear",
                # Per-point columns: those in every tile's property table, and those only
                # in the nodes' sidecars (a tile's extras.spatialviz.attributes).
                "properties": {
                    "tile": plan.tile_property_names,
                    "sidecar": plan.sidecar_property_names,
                },
            }
        },
    }
    (out / "tileset.json").write_text(json.dumps(tileset, separators=(",", ":")))
    return files + 1
