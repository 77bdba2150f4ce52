"""A pick returns the row under the cursor for any cloud size: row ids past 2^24 (where a
float32 holds only even numbers) travel exactly from the canonical table through the tiles
to the pick query."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import numpy as np
import pytest

from spatialviz.config import Settings
from spatialviz.tiling.glb import decode_points, read_glb
from tests.dataset.helpers import csv_bytes
from tests.factories import register_and_sign_in
from tests.scene_api.helpers import create_scene, ready_dataset, shift_row_ids, wait_for_scene

FIRST_ROW = (1 << 24) + 1  # odd: float32 cannot hold it (nor every other id after it)
ROWS = 300


def _tile_uris(tileset: dict[str, Any]) -> list[str]:
    uris, stack = [], [tileset["root"]]
    while stack:
        tile = stack.pop()
        if "content" in tile:
            uris.append(tile["content"]["uri"])
        stack.extend(tile.get("children", []))
    return uris


async def _tiles(client: httpx.AsyncClient, scene: dict[str, Any]) -> list[bytes]:
    url = scene["tileset_url"]
    sig = parse_qs(urlsplit(url).query)["sig"][0]
    tileset = (await client.get(url)).json()
    assert all(uri.endswith(".glb") for uri in _tile_uris(tileset))
    out = []
    for uri in _tile_uris(tileset):
        response = await client.get(f"/api/v1/scenes/{scene['id']}/{uri}", params={"sig": sig})
        assert response.status_code == 200, response.text
        out.append(response.content)
    return out


async def test_rows_past_2_24_are_picked_exactly(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user, headers = await register_and_sign_in(client)
    data = csv_bytes(ROWS, seed=11)
    dataset = await ready_dataset(client, headers, user["personal_workspace_id"], data)
    shift_row_ids(settings.storage_url, dataset, FIRST_ROW)
    created = await create_scene(client, headers, dataset["id"])
    scene = await wait_for_scene(client, headers, created["scene"]["id"])
    assert scene["status"] == "ready", scene
    tileset = (await client.get(scene["tileset_url"])).json()
    center = np.array(tileset["extras"]["spatialviz"]["center"])

    ids: list[int] = []
    positions: list[np.ndarray] = []
    for glb in await _tiles(client, scene):
        doc, _ = read_glb(glb)
        # No per-point vertex attribute besides position and colour; the row id is a
        # 32-bit integer column of the property table.
        assert set(doc["meshes"][0]["primitives"][0]["attributes"]) == {"POSITION", "COLOR_0"}
        schema = doc["extensions"]["EXT_structural_metadata"]["schema"]
        assert schema["classes"]["point"]["properties"]["row_id"]["componentType"] == "UINT32"
        content = decode_points(glb)
        ids += content.properties["row_id"].tolist()
        positions += list(content.positions + center)
    # Every row once, each with its own id (float32 would have merged neighbours).
    assert sorted(ids) == list(range(FIRST_ROW, FIRST_ROW + ROWS))
    assert len({float(np.float32(i)) for i in ids}) < ROWS  # what float32 would have kept

    url = f"/api/v1/scenes/{scene['id']}/query"
    for i in range(0, ROWS, 7):
        picked = await client.post(url, json={"kind": "pick", "row": ids[i]}, headers=headers)
        assert picked.status_code == 200, picked.text
        row = picked.json()["row"]
        assert row["row_id"] == ids[i]
        # The row the server returns is the point the tile drew.
        assert [row["x"], row["y"], row["z"]] == pytest.approx(list(positions[i]), abs=2e-3)
