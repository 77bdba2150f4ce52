"""End to end in headless Chromium against the real server: register, upload a CSV through
the UI (tus), watch ingest and tiling reach ready, open the scene, check the points are
drawn (pixels of the colormap's colours against the background), pick a point and see its
row, and run an immersive WebXR session under the IWER emulator standing in for a headset."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.async_api import Page, expect

from spatialviz.config import Settings
from spatialviz.styling.colormaps import apply_colormap
from spatialviz.tiling.glb import read_glb
from tests.dataset.helpers import csv_bytes
from tests.e2e.helpers import register_through_ui, wait_until
from tests.scene_api.helpers import create_scene, ready_dataset, shift_row_ids, wait_for_scene


def colormap_pixels(png: bytes, name: str = "viridis", tolerance: float = 40.0) -> int:
    """How many pixels are clearly not background and close to some colour of the colormap
    the scene is drawn with (the background is the most common colour)."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    background = colours[np.argmax(counts)]
    pixels = pixels[np.linalg.norm(pixels - background, axis=1) > tolerance]
    palette = apply_colormap(np.linspace(0, 1, 64), 0.0, 1.0, name).astype(np.float32)
    nearest = np.full(len(pixels), np.inf, dtype=np.float32)
    for colour in palette:
        nearest = np.minimum(nearest, np.linalg.norm(pixels - colour, axis=1))
    return int((nearest < tolerance).sum())


async def upload_and_open_scene(page: Page, base: str, tmp_path: Path) -> str:
    source = tmp_path / "survey.csv"
    source.write_bytes(csv_bytes(3000))
    await page.get_by_test_id("upload-input").set_input_files(str(source))
    await expect(page.get_by_test_id("scene-ready")).to_be_visible(timeout=120_000)
    ready_row = page.locator('[data-testid="dataset-row"][data-status="ready"]')
    await expect(ready_row).to_have_count(1, timeout=60_000)
    await page.get_by_test_id("scene-link").first.click()
    await wait_until(page, "window.__spatialviz && window.__spatialviz.pointsDrawn > 0")
    scene_id: str = await page.evaluate("window.__spatialviz.sceneId")
    return scene_id


async def test_upload_view_pick_and_enter_vr(page: Page, live_server: str, tmp_path: Path) -> None:
    await register_through_ui(page, live_server, "viewer.one@example.com")
    scene_id = await upload_and_open_scene(page, live_server, tmp_path)

    # The points are drawn: the canvas shows the colormap's colours, the background doesn't.
    # Large points, so pixels carry their colour rather than a blend with the background.
    # These are the tiles' own colours (the colormap baked into COLOR_0, stored linear): a
    # viewer decoding them as sRGB once more draws none of the colormap's colours.
    await page.get_by_test_id("point-size").fill("8")
    await page.wait_for_timeout(500)
    canvas = page.get_by_test_id("viewer-canvas")
    shot = await canvas.screenshot()
    drawn = colormap_pixels(shot)
    assert drawn > 500, f"only {drawn} pixels in the scene's colours"
    await expect(page.get_by_test_id("legend")).to_be_visible()

    # The point budget, chosen with the keyboard: its label and the HUD show the same
    # budget (slow software-rendered frames may have lowered it below the choice).
    slider = page.get_by_test_id("point-budget")
    await slider.focus()
    await page.keyboard.press("ArrowLeft")
    await expect(slider).to_have_attribute("aria-valuetext", "2,750,000")
    await wait_until(
        page,
        """(() => {
            const label = document.querySelector('[data-testid=point-budget-label]').textContent;
            const hud = document.querySelector('[data-testid=scene-hud]').textContent;
            return label.split(' of ').pop() === '2,750,000' && hud.includes(`budget ${label}`);
        })()""",
    )

    # Picking a point shows its attribute row.
    hit = await page.evaluate(
        """() => {
            for (let y = -0.5; y <= 0.5; y += 0.05)
              for (let x = -0.5; x <= 0.5; x += 0.05) {
                const h = window.__spatialviz.actions.pickAt(x, y);
                if (h) return h.rowId;
              }
            return null;
        }"""
    )
    assert hit is not None, "no point under any of the probed screen positions"
    await expect(page.get_by_test_id("pick-row")).to_contain_text("temperature", timeout=60_000)
    picked = await page.evaluate("window.__spatialviz.lastPickedRow")
    assert picked["row_id"] == hit

    # Recolouring by an attribute happens on the client, from the tiles' per-point values.
    await page.get_by_test_id("color-by").select_option("temperature")
    await page.get_by_test_id("colormap").select_option("magma")
    await expect(page.get_by_test_id("legend")).to_have_attribute("data-kind", "continuous")
    await page.wait_for_timeout(500)
    recoloured = colormap_pixels(await canvas.screenshot(), "magma")
    assert recoloured > 500, f"only {recoloured} pixels in magma after recolouring"

    # An immersive session starts and renders frames under the emulated headset.
    await page.goto(f"{live_server}/scenes/{scene_id}?xr-emulator=1")
    await wait_until(page, "window.__spatialviz.pointsDrawn > 0")
    await wait_until(page, "window.__spatialviz.xr.supported === true")
    await page.get_by_test_id("enter-vr").click()
    await wait_until(page, "window.__spatialviz.xr.session === 'active'")
    await wait_until(page, "window.__spatialviz.xr.frames > 10")


def stored_tileset(storage: Path) -> tuple[list[list[str]], list[float]]:
    """The extensionsRequired of every stored tile, and the tileset's centre."""
    required = [
        read_glb(p.read_bytes())[0]["extensionsRequired"]
        for p in storage.rglob("*.glb")
        if not p.name.endswith(".attrs.glb")
    ]
    (tileset,) = storage.rglob("tileset.json")
    center: list[float] = json.loads(tileset.read_text())["extras"]["spatialviz"]["center"]
    return required, center


@pytest.fixture(params=["meshopt", "draco"])
def compressed_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The server tiles with compression (asked for before live_server, so it serves these)."""
    settings.scene_tiling_compression = request.param
    return settings


async def test_compressed_tiles_are_drawn_and_picked(
    page: Page, compressed_settings: Settings, live_server: str, tmp_path: Path
) -> None:
    compression = compressed_settings.scene_tiling_compression
    await register_through_ui(page, live_server, f"viewer.{compression}@example.com")
    await upload_and_open_scene(page, live_server, tmp_path)

    # The tiles really are compressed (the viewer would draw plain ones just as well).
    extension = {"meshopt": "EXT_meshopt_compression", "draco": "KHR_draco_mesh_compression"}
    storage = Path(compressed_settings.storage_url.removeprefix("file://"))
    required, center = stored_tileset(storage)
    assert required
    assert all(extension[compression] in names for names in required)

    # Decoded, they show the colormap's colours, and a picked point shows its own row (the
    # codec reordered the points inside each tile; the property table must have followed).
    await page.get_by_test_id("point-size").fill("8")
    await page.wait_for_timeout(500)
    drawn = colormap_pixels(await page.get_by_test_id("viewer-canvas").screenshot())
    assert drawn > 500, f"only {drawn} pixels in the scene's colours"
    hit = await page.evaluate(
        """() => {
            for (let y = -0.5; y <= 0.5; y += 0.05)
              for (let x = -0.5; x <= 0.5; x += 0.05) {
                const h = window.__spatialviz.actions.pickAt(x, y);
                if (h) return h;
              }
            return null;
        }"""
    )
    assert hit is not None, "no point under any of the probed screen positions"
    await expect(page.get_by_test_id("pick-row")).to_contain_text("temperature", timeout=60_000)
    await wait_until(page, f"window.__spatialviz.lastPickedRow?.row_id === {hit['rowId']}")
    row = await page.evaluate("window.__spatialviz.lastPickedRow")
    # The point drawn where we picked (decoded by the codec) is the row's own point.
    drawn_at = [hit["point"][axis] + center[i] for i, axis in enumerate("xyz")]
    assert drawn_at == pytest.approx([row["x"], row["y"], row["z"]], abs=2e-3)


async def test_register_and_see_the_empty_workspace(page: Page, live_server: str) -> None:
    await register_through_ui(page, live_server, "first.user@example.com")
    await expect(page.get_by_test_id("datasets-empty")).to_be_visible()
    await expect(page.get_by_test_id("workspace-select")).to_contain_text("(owner)")


async def test_a_pick_past_2_24_returns_the_row_under_the_cursor(
    page: Page, settings: Settings, live_server: str
) -> None:
    """Row ids of a 30M-point cloud: the ingested rows renumbered from 2^24 + 1 (odd, so a
    float32 vertex attribute would have read each as its even neighbour), tiled by the
    server, picked in the browser: the row shown is the point drawn under the cursor."""
    await register_through_ui(page, live_server, "viewer.bigids@example.com")
    tokens = json.loads(await page.evaluate("localStorage.getItem('spatialviz.tokens')"))
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    first = (1 << 24) + 1
    async with httpx.AsyncClient(base_url=live_server, timeout=120) as client:
        me = (await client.get("/api/v1/me", headers=headers)).json()
        dataset = await ready_dataset(
            client, headers, me["workspaces"][0]["id"], csv_bytes(3000), "survey.csv"
        )
        shift_row_ids(settings.storage_url, dataset, first)
        created = await create_scene(client, headers, dataset["id"])
        scene = await wait_for_scene(client, headers, created["scene"]["id"], within=120)
    assert scene["status"] == "ready", scene
    storage = Path(settings.storage_url.removeprefix("file://"))
    _, center = stored_tileset(storage)

    await page.goto(f"{live_server}/scenes/{scene['id']}")
    await wait_until(page, "window.__spatialviz && window.__spatialviz.pointsDrawn > 0")
    await page.get_by_test_id("point-size").fill("8")
    hits = await page.evaluate(
        """() => {
            const found = [];
            for (let y = -0.5; y <= 0.5; y += 0.1)
              for (let x = -0.5; x <= 0.5; x += 0.1) {
                const h = window.__spatialviz.actions.pickAt(x, y);
                if (h && h.rowId % 2 === 1) found.push({ ...h, ndc: [x, y] });
              }
            return found;
        }"""
    )
    assert hits, "no odd row id under any of the probed screen positions"
    hit = hits[-1]
    assert hit["rowId"] >= first
    # The probes above were picks too; the viewer shows the newest only, so pick this one last.
    await page.evaluate(f"window.__spatialviz.actions.pickAt({hit['ndc'][0]}, {hit['ndc'][1]})")
    await wait_until(page, f"window.__spatialviz.lastPickedRow?.row_id === {hit['rowId']}")
    row = await page.evaluate("window.__spatialviz.lastPickedRow")
    drawn_at = [hit["point"][axis] + center[i] for i, axis in enumerate("xyz")]
    assert drawn_at == pytest.approx([row["x"], row["y"], row["z"]], abs=2e-3)
