"""Box queries in the scene's own frame (issue 17): a box drawn in the viewer's coordinates
returns exactly the rows the scene draws inside it, on a georeferenced scene (tiles in
east-north-up metres) and on a chart (tiles in chart-box coordinates). The oracle is
computed here from the source rows with numpy and pyproj, not through the product's code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from spatialviz.demo.generate import write_measurements_csv
from tests.dataset.helpers import wait_for_dataset
from tests.e2e.cesium_support import las_in_utm
from tests.factories import register_and_sign_in
from tests.scene_api.box_oracles import chart_oracle, enu_oracle
from tests.scene_api.helpers import create_scene, ready_dataset, wait_for_scene

CHART_ENCODING: dict[str, Any] = {
    "position": {
        "x": "age",
        "y": "income",
        "z": "happiness",
        "chart_box": {"size": [1.0, 2.0, 1.0]},
    },
    "color": {"mode": "categorical", "column": "region", "palette": "tableau10"},
}


async def box_rows(
    client: httpx.AsyncClient, headers: dict[str, str], scene_id: str, lo: Any, hi: Any
) -> tuple[int, set[int]]:
    body = {"kind": "box", "frame": "scene", "min": list(lo), "max": list(hi), "samples": 10_000}
    answer = await client.post(f"/api/v1/scenes/{scene_id}/query", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert out["frame"] == "scene"
    return out["count"], {s["row_id"] for s in out["samples"]}


def middle_half(pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    c, s = (lo + hi) / 2, (hi - lo) / 4
    return c - s, c + s


async def test_a_box_in_east_north_up_metres_on_a_georeferenced_scene(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    user, headers = await register_and_sign_in(client)
    source = tmp_path / "survey.las"
    las_in_utm(source, points=4000)
    dataset = await ready_dataset(
        client, headers, user["personal_workspace_id"], source.read_bytes(), "survey.las"
    )
    created = await create_scene(client, headers, dataset["id"])
    scene = await wait_for_scene(client, headers, created["scene"]["id"], within=120)
    assert scene["status"] == "ready", scene
    tileset = (await client.get(scene["tileset_url"])).json()
    assert "transform" in tileset["root"]  # georeferenced: tiles in ENU under ECEF
    enu = enu_oracle(source, tileset)

    # The viewer's default box (the middle half), and a thin slab across the grid's
    # convergence: a source box from two mapped corners would gain or lose rows there.
    lo, hi = middle_half(enu)
    slab_lo, slab_hi = lo.copy(), hi.copy()
    slab_lo[0] = slab_hi[0] = (lo[0] + hi[0]) / 2
    slab_lo[0] -= 4.0
    slab_hi[0] += 4.0
    slab_lo[2], slab_hi[2] = enu[:, 2].min(), enu[:, 2].max()  # the terrain rises along x
    for box_lo, box_hi in ((lo, hi), (slab_lo, slab_hi)):
        inside = np.flatnonzero(np.all((enu >= box_lo) & (enu <= box_hi), axis=1))
        count, rows = await box_rows(client, headers, scene["id"], box_lo, box_hi)
        assert count == len(inside) > 0
        assert rows == set(inside.tolist())

    # The same numbers as a box in the dataset's own frame select other rows: the frames
    # differ (UTM metres vs east-north-up metres at the centre).
    plain = await client.post(
        f"/api/v1/scenes/{scene['id']}/query",
        json={"kind": "box", "min": list(lo), "max": list(hi)},
        headers=headers,
    )
    assert plain.status_code == 200
    assert plain.json()["count"] == 0


async def demo_chart_dataset(
    client: httpx.AsyncClient, headers: dict[str, str], workspace_id: str, data: bytes
) -> dict[str, Any]:
    """The CSV uploaded as the demo does: the row id stands in for x and y, every
    measurement a column."""
    answer = await client.post(
        "/api/v1/datasets",
        params={
            "workspace_id": workspace_id,
            "filename": "measurements.csv",
            "columns": json.dumps({"x": "id", "y": "id"}),
        },
        content=data,
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    assert answer.status_code == 202, answer.text
    dataset = await wait_for_dataset(client, headers, answer.json()["dataset"]["id"])
    assert dataset["status"] == "ready", dataset
    return dataset


async def test_a_box_in_chart_coordinates_on_a_chart_scene(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    user, headers = await register_and_sign_in(client)
    source = write_measurements_csv(tmp_path / "measurements.csv", rows=3000)
    dataset = await demo_chart_dataset(
        client, headers, user["personal_workspace_id"], source.read_bytes()
    )
    encoding = {**CHART_ENCODING, "filter": [{"column": "population", "op": ">=", "value": 3000}]}
    created = await create_scene(client, headers, dataset["id"], encoding)
    scene = await wait_for_scene(client, headers, created["scene"]["id"], within=120)
    assert scene["status"] == "ready", scene
    assert scene["frame"] == "chart"
    pos, population = chart_oracle(source, [1.0, 2.0, 1.0])
    shown = population >= 3000
    assert 0 < shown.sum() < len(shown)

    lo, hi = middle_half(pos)
    corner_lo, corner_hi = np.array([0.0, 0.0, 0.0]), np.array([0.3, 0.5, 0.6])
    for box_lo, box_hi in ((lo, hi), (corner_lo, corner_hi)):
        inside = np.all((pos >= box_lo) & (pos <= box_hi), axis=1)
        expected = np.flatnonzero(inside & shown)
        count, rows = await box_rows(client, headers, scene["id"], box_lo, box_hi)
        assert count == len(expected) > 0
        assert rows == set(expected.tolist())  # filtered-out rows are not in the scene
        assert (inside & ~shown).any()  # ... and some were inside the box


async def test_colouring_by_a_text_column_the_tiles_lack_retiles(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Tiles carry the codes of the text column a categorical colour asks for and no other:
    switching the colour to such a column re-tiles; back to a numeric one does not."""
    user, headers = await register_and_sign_in(client)
    source = write_measurements_csv(tmp_path / "measurements.csv", rows=500)
    dataset = await demo_chart_dataset(
        client, headers, user["personal_workspace_id"], source.read_bytes()
    )
    by_age = {**CHART_ENCODING, "color": {"mode": "continuous", "column": "age"}}
    created = await create_scene(client, headers, dataset["id"], by_age)
    scene = await wait_for_scene(client, headers, created["scene"]["id"], within=120)
    assert scene["status"] == "ready", scene
    url = f"/api/v1/scenes/{scene['id']}"
    patched = await client.patch(url, json={"encoding": CHART_ENCODING}, headers=headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["job"] is not None
    assert (await wait_for_scene(client, headers, scene["id"], within=120))["status"] == "ready"
    patched = await client.patch(url, json={"encoding": by_age}, headers=headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["job"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"min": [0, 0, 0], "max": [1, 1, 1], "samples": 10**7}, "samples"),
        ({"min": [0, 0, "Infinity"], "max": [1, 1, 1]}, "min"),
        ({"min": [1, 1, 1], "max": [0, 0, 0]}, "max"),
        ({"min": [0, 0], "max": [1, 1, 1]}, "min"),
        ({"min": [0, 0, 0], "max": [1, 1, 1], "frame": "ecef"}, "frame"),
    ],
)
async def test_scene_frame_boxes_are_bounded(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    user, headers = await register_and_sign_in(client)
    dataset = await ready_dataset(client, headers, user["personal_workspace_id"])
    created = await create_scene(client, headers, dataset["id"])
    scene = await wait_for_scene(client, headers, created["scene"]["id"])
    answer = await client.post(
        f"/api/v1/scenes/{scene['id']}/query",
        content=json.dumps({"kind": "box", "frame": "scene", **body}),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert field in answer.text
