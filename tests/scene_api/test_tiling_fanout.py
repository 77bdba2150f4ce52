"""The tiling job fans out: one map item per chunk (process pool here, a Celery chord with
workers), joined by a merge that publishes one tileset holding every point exactly once."""

from __future__ import annotations

import httpx
import numpy as np

from spatialviz.config import Settings
from spatialviz.tiling.glb import decode_points
from tests.dataset.helpers import csv_bytes
from tests.factories import register_and_sign_in
from tests.scene_api.helpers import ready_scene


async def test_small_chunks_tile_in_parallel_items(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    settings.scene_tiling_max_chunk_points = 1000
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"], data=csv_bytes(6000))
    job = (await client.get(f"/api/v1/jobs/{scene['job_id']}", headers=headers)).json()
    assert job["status"] == "succeeded"
    assert job["result"]["chunks"] > 1
    assert job["result"]["points"] == 6000

    tileset = (await client.get(scene["tileset_url"])).json()
    signature = scene["tileset_url"].split("?", 1)[1]
    row_ids: list[int] = []
    stack = [tileset["root"]]
    while stack:
        tile = stack.pop()
        stack.extend(tile.get("children", []))
        uri = tile.get("content", {}).get("uri")
        if uri is None or not uri.endswith(".glb"):
            continue
        body = await client.get(f"/api/v1/scenes/{scene['id']}/{uri}?{signature}")
        assert body.status_code == 200, uri
        row_ids += decode_points(body.content).properties["row_id"].tolist()
    assert sorted(row_ids) == list(range(6000))
    assert not (settings.var_dir / "tiling").exists() or not any(
        (settings.var_dir / "tiling").iterdir()
    )
    assert np.unique(row_ids).size == 6000
