"""Journeys through the scene page that used to end wrong or nowhere (issue 17, items 2, 3,
4 and 6), in headless Chromium against the real server."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx
import numpy as np
from PIL import Image
from playwright.async_api import Page, Route, expect

from spatialviz.styling.colormaps import apply_colormap
from tests.dataset.helpers import csv_bytes, las_bytes
from tests.e2e.helpers import register_through_ui, wait_until
from tests.scene_api.helpers import create_scene, ready_dataset, wait_for_scene

ROWS = 3000


async def _ready_scene(page: Page, base: str, email: str) -> tuple[dict[str, Any], bytes]:
    """A CSV scene (x, y, z in 0..100, no CRS) made through the API as the page's user."""
    await register_through_ui(page, base, email)
    tokens = json.loads(await page.evaluate("localStorage.getItem('spatialviz.tokens')"))
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    data = csv_bytes(ROWS)
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        me = (await client.get("/api/v1/me", headers=headers)).json()
        dataset = await ready_dataset(client, headers, me["workspaces"][0]["id"], data, "s.csv")
        created = await create_scene(client, headers, dataset["id"])
        scene = await wait_for_scene(client, headers, created["scene"]["id"], within=120)
    assert scene["status"] == "ready", scene
    return scene, data


def _palette_bins(png: bytes, name: str = "viridis", tolerance: float = 30.0) -> set[int]:
    """Which of 32 steps of the colormap the drawn (non-background) pixels show."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    background = colours[np.argmax(counts)]
    pixels = pixels[np.linalg.norm(pixels - background, axis=1) > tolerance]
    palette = apply_colormap(np.linspace(0, 1, 32), 0.0, 1.0, name).astype(np.float32)
    distance = np.linalg.norm(pixels[:, None, :] - palette[None, :, :], axis=2)
    nearest = distance.argmin(axis=1)[distance.min(axis=1) < tolerance]
    bins, hits = np.unique(nearest, return_counts=True)
    return {int(b) for b, n in zip(bins, hits, strict=True) if n >= 20}


_RECORD_TILING_NOTICE = """
window.__sawTilingNotice = false;
new MutationObserver(() => {
  const notice = document.querySelector('[data-testid=scene-status]');
  if (notice && notice.textContent.includes('tiling')) window.__sawTilingNotice = true;
}).observe(document, { childList: true, subtree: true, characterData: true });
"""


async def test_a_tiling_scene_opens_by_itself_then_its_box_and_elevation_are_right(
    page: Page, live_server: str
) -> None:
    scene, data = await _ready_scene(page, live_server, "viewer.journey@example.com")
    scene_id = scene["id"]

    # The page first sees the scene still tiling (its first answer is held back as it was
    # while the job ran); the job's channel on the real server then says it ended.
    held = {"done": False}

    async def as_if_tiling(route: Route) -> None:
        if held["done"] or route.request.method != "GET":
            await route.continue_()
            return
        held["done"] = True
        response = await route.fetch()
        body = await response.json()
        body.update(status="tiling", tileset_url=None)
        await route.fulfill(response=response, json=body)

    await page.route(f"**/api/v1/scenes/{scene_id}", as_if_tiling)
    # The "still tiling" page may last a moment only (the job ended long ago, and its channel
    # says so at once): record that it was shown instead of racing to look at it.
    await page.add_init_script(_RECORD_TILING_NOTICE)
    await page.goto(f"{live_server}/scenes/{scene_id}")
    await wait_until(page, "window.__spatialviz.pointsDrawn > 0")
    assert await page.evaluate("window.__sawTilingNotice === true")

    # The box tool's own default box counts the points inside it (dataset coordinates).
    await wait_until(page, "document.querySelector('[data-testid=box-x-min]').value !== ''")
    bounds = []
    for axis in "xyz":
        lo = float(await page.get_by_test_id(f"box-{axis}-min").input_value())
        hi = float(await page.get_by_test_id(f"box-{axis}-max").input_value())
        bounds.append((lo, hi))
    await page.get_by_test_id("box-run").click()
    await expect(page.get_by_test_id("box-count")).to_be_visible()
    counted = await page.evaluate("window.__spatialviz.lastBox.count")
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    xyz = np.array([[float(r["x"]), float(r["y"]), float(r["z"])] for r in rows])
    low = np.array([b[0] for b in bounds])
    high = np.array([b[1] for b in bounds])
    expected = int(((xyz >= low) & (xyz <= high)).all(axis=1).sum())
    assert expected > 0, bounds
    assert counted == expected, (counted, expected, bounds)

    # Colouring by elevation paints a gradient, not one colour.
    await page.get_by_test_id("point-size").fill("8")
    await page.get_by_test_id("color-by").select_option("z")
    await page.get_by_test_id("colormap").select_option("viridis")
    await page.wait_for_timeout(500)
    bins = _palette_bins(await page.get_by_test_id("viewer-canvas").screenshot())
    assert len(bins) >= 8, f"colour by z drew only {len(bins)} steps of viridis: {sorted(bins)}"


async def test_view_in_ar_exports_then_offers_the_file(page: Page, live_server: str) -> None:
    scene, _ = await _ready_scene(page, live_server, "viewer.ar@example.com")
    scene_url = f"{live_server}/scenes/{scene['id']}"
    await page.goto(scene_url)
    await wait_until(page, "window.__spatialviz.pointsDrawn > 0")

    # The click starts the export and follows its job: the viewer stays, then the file is
    # offered (a download in desktop Chromium), never a raw JSON page.
    await page.get_by_test_id("view-in-ar").click()
    await expect(page.get_by_test_id("ar-download")).to_be_visible(timeout=120_000)
    assert page.url == scene_url
    await expect(page.get_by_test_id("viewer-canvas")).to_be_visible()
    head = await page.evaluate(
        """async () => {
            const a = document.querySelector('[data-testid=ar-download]');
            const bytes = new Uint8Array(await (await fetch(a.href)).arrayBuffer());
            return [a.getAttribute('download'), bytes.length, bytes[0], bytes[1]];
        }"""
    )
    name, size, *magic = head
    assert name == "scene.usdz"
    assert size > 1000
    assert magic == [0x50, 0x4B], "a USDZ is a zip archive"


def _pixels_near(png: bytes, colour: tuple[int, int, int], tolerance: float = 30.0) -> int:
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32).reshape(-1, 3)
    return int((np.linalg.norm(pixels - np.array(colour, np.float32), axis=1) < tolerance).sum())


async def test_las_classes_are_named_counted_and_can_be_hidden(
    page: Page, live_server: str
) -> None:
    await register_through_ui(page, live_server, "viewer.classes@example.com")
    tokens = json.loads(await page.evaluate("localStorage.getItem('spatialviz.tokens')"))
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    async with httpx.AsyncClient(base_url=live_server, timeout=120) as client:
        me = (await client.get("/api/v1/me", headers=headers)).json()
        las = las_bytes(3000)
        dataset = await ready_dataset(client, headers, me["workspaces"][0]["id"], las, "c.las")
        created = await create_scene(client, headers, dataset["id"])
        scene = await wait_for_scene(client, headers, created["scene"]["id"], within=120)
    assert scene["status"] == "ready", scene
    await page.goto(f"{live_server}/scenes/{scene['id']}")
    await wait_until(page, "window.__spatialviz.pointsDrawn > 0")
    # Lean tiles: the LAS colours need no column, so classification is in the sidecars,
    # and none is fetched until something asks for it.
    assert await page.evaluate("window.__spatialviz.sidecars.fetched") == 0

    # Fields that are zero everywhere are not offered; classification is categorical.
    offered = await page.get_by_test_id("color-by").locator("option").all_inner_texts()
    names = [o.split(" (")[0] for o in offered]
    assert "intensity" in names
    assert "classification" in names
    assert not {"synthetic", "withheld", "key_point", "user_data", "scan_angle"} & set(names)
    assert "classification (categorical)" in offered

    await page.get_by_test_id("point-size").fill("8")
    await page.get_by_test_id("color-by").select_option("classification")
    await wait_until(page, "window.__spatialviz.sidecars.fetched > 0")
    legend = page.get_by_test_id("legend")
    await expect(legend).to_have_attribute("data-kind", "categorical")
    await expect(legend).to_contain_text("Ground (2)")
    await expect(legend).to_contain_text("Building (6)")
    await expect(page.get_by_test_id("legend-count-2")).not_to_have_text(" 0")
    counts = [
        int((await page.get_by_test_id(f"legend-count-{code}").inner_text()).replace(",", ""))
        for code in range(1, 7)
    ]
    assert all(n > 0 for n in counts), counts

    # Hiding Ground removes its colour from the view.
    ground = (0xE1, 0x57, 0x59)  # palette colour of code 2 (lib/colormap.ts)
    await page.wait_for_timeout(500)
    before = _pixels_near(await page.get_by_test_id("viewer-canvas").screenshot(), ground)
    await page.get_by_test_id("legend-toggle-2").uncheck()
    await page.wait_for_timeout(500)
    after = _pixels_near(await page.get_by_test_id("viewer-canvas").screenshot(), ground)
    assert before > 200, before
    assert after < before / 20, (before, after)
