"""Lean tiles: a tile carries position, colour, the row id and the columns the scene's
encoding needs; every other per-point column is in the node's sidecar, which the tileset
names in the tile's extras and the signed tile route serves like a tile."""

from __future__ import annotations

from typing import Any

import httpx

from spatialviz.tiling.glb import decode_points, decode_sidecar, read_glb
from tests.dataset.helpers import las_bytes
from tests.factories import register_and_sign_in
from tests.scene_api.helpers import ready_scene, signature_of


def _tiles(tileset: dict[str, Any]) -> list[dict[str, Any]]:
    out, stack = [], [tileset["root"]]
    while stack:
        tile = stack.pop()
        if "content" in tile:
            out.append(tile)
        stack.extend(tile.get("children", []))
    return out


async def test_tiles_carry_what_the_encoding_needs_and_sidecars_the_rest(
    client: httpx.AsyncClient,
) -> None:
    user, headers = await register_and_sign_in(client)
    encoding = {"color": {"mode": "continuous", "column": "intensity"}}
    scene = await ready_scene(
        client, headers, user["personal_workspace_id"], las_bytes(600), "s.las", encoding
    )
    sig = signature_of(scene["tileset_url"])
    tileset = (await client.get(scene["tileset_url"])).json()
    columns = tileset["extras"]["spatialviz"]["properties"]
    assert columns["tile"] == ["intensity", "row_id"]
    assert "classification" in columns["sidecar"]
    assert "intensity" not in columns["sidecar"]
    base = f"/api/v1/scenes/{scene['id']}"
    seen = 0
    for tile in _tiles(tileset):
        glb = await client.get(f"{base}/{tile['content']['uri']}", params={"sig": sig})
        assert glb.status_code == 200, glb.text
        doc, _ = read_glb(glb.content)
        table = doc["extensions"]["EXT_structural_metadata"]["propertyTables"][0]
        assert set(table["properties"]) == {"intensity", "row_id"}
        uri = tile["extras"]["spatialviz"]["attributes"]
        assert uri == tile["content"]["uri"].removesuffix(".glb") + ".attrs.glb"
        unsigned = await client.get(f"{base}/{uri}")
        assert unsigned.status_code in (401, 403), unsigned.text  # as guarded as a tile
        side = await client.get(f"{base}/{uri}", params={"sig": sig})
        assert side.status_code == 200, side.text
        assert side.headers["content-type"] == "model/gltf-binary"
        values = decode_sidecar(side.content)
        assert set(values) == set(columns["sidecar"])
        rows = decode_points(glb.content).properties["row_id"].tolist()
        # Row i of the sidecar is point i of the tile: its values are that row's.
        for i in range(0, len(rows), 97):
            picked = await client.post(
                f"{base}/query", json={"kind": "pick", "row": rows[i]}, headers=headers
            )
            assert picked.status_code == 200, picked.text
            assert picked.json()["row"]["classification"] == int(values["classification"][i])
            seen += 1
    assert seen > 0
