"""Real files through the server: upload, ingest, scene tiling (the real job runner). The
dataset's API representation says what the CRS module read and what looks wrong; the
stored tileset places every point within 1 cm (+ quantization) of pyproj."""

from __future__ import annotations

from pathlib import Path

import httpx

from spatialviz.config import Settings
from tests.factories import register_and_sign_in
from tests.geodesy.placement import assert_placed, las_truth
from tests.realdata import realdata
from tests.scene_api.helpers import create_scene, ready_dataset, wait_for_scene


def stored_tileset(settings: Settings) -> Path:
    """The scene's tileset.json as the job published it (local storage)."""
    storage = Path(settings.storage_url.removeprefix("file://"))
    (tileset,) = storage.rglob("tileset.json")
    return tileset


async def test_feet_las_through_the_server(client: httpx.AsyncClient, settings: Settings) -> None:
    path = realdata("autzen_trim.laz")
    count, truth = las_truth(path, 0.3048)
    user, headers = await register_and_sign_in(client)
    dataset = await ready_dataset(
        client, headers, user["personal_workspace_id"], path.read_bytes(), path.name
    )
    assert dataset["row_count"] == count
    crs = dataset["crs"]
    assert crs["horizontal_unit"] == crs["vertical_unit"] == "foot"
    assert crs["placed"] is True
    lon, lat, _h = crs["center_wgs84"]
    assert abs(lon + 123.07) < 0.01
    assert abs(lat - 44.05) < 0.01
    assert dataset["stats"]["warnings"] == []

    created = await create_scene(client, headers, dataset["id"])
    scene = await wait_for_scene(client, headers, created["scene"]["id"])
    assert scene["status"] == "ready", scene
    assert_placed(stored_tileset(settings), truth)


async def test_implausible_label_is_a_warning_on_the_dataset(client: httpx.AsyncClient) -> None:
    path = realdata("simple.copc.laz")
    user, headers = await register_and_sign_in(client)
    dataset = await ready_dataset(
        client, headers, user["personal_workspace_id"], path.read_bytes(), path.name
    )
    warnings = dataset["stats"]["warnings"]
    assert any("outside the area of use" in w for w in warnings), warnings
    assert any("geoid model" in w for w in warnings), warnings
    assert dataset["crs"]["vertical_crs"] == "NAVD88 height (ftUS)"
    assert dataset["crs"]["vertical_unit"] == "US survey foot"
