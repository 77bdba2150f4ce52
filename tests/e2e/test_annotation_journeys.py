"""Notes, views and tooltips in two real browser pages against the real server (issue 17):
a note added in one page appears live in another (no reload) and is removed live; the other
page flies to it; eye-dome lighting and the point size modes run with no console error; and
hovering a chart's point shows its row."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.async_api import Browser, ConsoleMessage, Page, expect

from tests.dataset.helpers import csv_bytes
from tests.e2e.helpers import PASSWORD, register_through_ui, wait_until
from tests.factories import add_member, bearer, create_workspace, register, sign_in
from tests.scene_api.helpers import create_scene, ready_dataset, wait_for_scene


class Tab:
    """A page in its own browser context, its console errors and page errors collected."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text}")


@pytest.fixture
async def tabs(browser: Browser) -> AsyncIterator[list[Tab]]:
    contexts = [
        await browser.new_context(viewport={"width": 1280, "height": 800}) for _ in range(2)
    ]
    opened = [Tab(await c.new_page()) for c in contexts]
    yield opened
    for context in contexts:
        await context.close()


async def _sign_in_page(page: Page, base: str, tokens: dict[str, Any]) -> None:
    """Puts a sign-in made through the API into the page, as the client stores its own."""
    await page.goto(f"{base}/")
    await page.evaluate("t => localStorage.setItem('spatialviz.tokens', JSON.stringify(t))", tokens)


async def _open(page: Page, base: str, scene_id: str) -> None:
    await page.goto(f"{base}/scenes/{scene_id}")
    await wait_until(page, "window.__spatialviz.pointsDrawn > 0")


_PLACE_ON_A_POINT = """() => {
    for (let y = -0.5; y <= 0.5; y += 0.05)
      for (let x = -0.5; x <= 0.5; x += 0.05)
        if (window.__spatialviz.actions.pickAt(x, y)) return [x, y];
    return null;
}"""


def _mean_brightness(png: bytes) -> float:
    return float(np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float32).mean())


async def test_a_note_appears_live_elsewhere_views_fly_and_charts_answer_on_hover(
    tabs: list[Tab], live_server: str
) -> None:
    author_tab, reader_tab = tabs
    author, reader = author_tab.page, reader_tab.page
    await register_through_ui(author, live_server, "notes.author@example.com")
    author_tokens = json.loads(await author.evaluate("localStorage.getItem('spatialviz.tokens')"))
    headers = bearer(author_tokens["access_token"])
    async with httpx.AsyncClient(base_url=live_server, timeout=120) as client:
        team = await create_workspace(client, headers, "Survey team")
        # A fresh sign-in: a token carries the workspaces it was issued with.
        author_tokens = await sign_in(client, "notes.author@example.com", PASSWORD)
        headers = bearer(author_tokens["access_token"])
        dataset = await ready_dataset(client, headers, team["id"], csv_bytes(3000), "s.csv")
        cloud = await create_scene(client, headers, dataset["id"])
        chart = await create_scene(
            client,
            headers,
            dataset["id"],
            {"position": {"x": "x", "y": "y", "z": "temperature", "chart_box": {}}},
        )
        for created in (cloud, chart):
            done = await wait_for_scene(client, headers, created["scene"]["id"], within=120)
            assert done["status"] == "ready", done
        reader_user = await register(client, email="notes.reader@example.com")
        await add_member(client, headers, team["id"], reader_user["email"], "viewer")
        reader_tokens = await sign_in(client, reader_user["email"])
    scene_id = cloud["scene"]["id"]
    await _sign_in_page(author, live_server, author_tokens)
    await _sign_in_page(reader, live_server, reader_tokens)
    await _open(author, live_server, scene_id)
    await _open(reader, live_server, scene_id)
    await expect(reader.get_by_test_id("annotations-panel")).to_contain_text("No notes yet")
    # A viewer reads notes; the form to place one is for editors.
    await expect(reader.get_by_test_id("annotation-read-only")).to_be_visible()
    await expect(reader.get_by_test_id("annotation-place")).to_have_count(0)

    # The author places a note on a point; the reader's page shows it without a reload.
    await author.get_by_test_id("annotation-text").fill("Check this corner")
    await author.get_by_test_id("annotation-place").click()
    assert await author.evaluate(_PLACE_ON_A_POINT) is not None, "no point to place a note on"
    await expect(author.get_by_test_id("annotation-item")).to_have_count(1, timeout=60_000)
    await expect(author.get_by_test_id("annotation-delete")).to_have_count(1)
    reader_items = reader.get_by_test_id("annotation-item")
    await expect(reader_items).to_have_count(1, timeout=60_000)
    await expect(reader_items).to_contain_text("Check this corner")
    await expect(reader.get_by_test_id("annotation-delete")).to_have_count(0)  # a viewer's page
    annotation_id = await reader_items.get_attribute("data-id")

    # The reader saves the view, flies to the note (the camera ends looking at it from
    # nearer), then flies back to the saved view.
    before = await reader.evaluate("window.__spatialviz.actions.cameraPose()")
    await reader.get_by_test_id("bookmark-name").fill("Overview")
    await reader.get_by_test_id("bookmark-save").click()
    await expect(reader.get_by_test_id("bookmark-item")).to_have_count(1)
    await reader.get_by_test_id("annotation-go").click()
    await wait_until(reader, f"window.__spatialviz.lastFlight?.id === '{annotation_id}'")
    after = await reader.evaluate("window.__spatialviz.actions.cameraPose()")
    assert after["target"] != before["target"]
    distance_before = float(np.linalg.norm(np.subtract(before["position"], before["target"])))
    distance_after = float(np.linalg.norm(np.subtract(after["position"], after["target"])))
    assert distance_after < distance_before
    await reader.get_by_test_id("bookmark-go").click()
    await wait_until(reader, "window.__spatialviz.lastFlight?.id === 'Overview'")
    back = await reader.evaluate("window.__spatialviz.actions.cameraPose()")
    np.testing.assert_allclose(back["position"], before["position"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(back["target"], before["target"], rtol=1e-6, atol=1e-6)

    # The author removes the note; it leaves the reader's page too.
    await author.get_by_test_id("annotation-delete").click()
    await expect(reader_items).to_have_count(0, timeout=60_000)
    await expect(author.get_by_test_id("annotation-item")).to_have_count(0)

    # Eye-dome lighting darkens the cloud's relief; the size modes switch without errors.
    await author.get_by_test_id("point-size").fill("6")
    canvas = author.get_by_test_id("viewer-canvas")
    await author.wait_for_timeout(300)
    plain = _mean_brightness(await canvas.screenshot())
    await author.get_by_test_id("edl-toggle").check()
    await wait_until(author, "window.__spatialviz.viewTools.edl === true")
    await author.wait_for_timeout(300)
    shaded = _mean_brightness(await canvas.screenshot())
    assert shaded < plain, (plain, shaded)
    for mode in ("attenuated", "adaptive", "fixed"):
        await author.get_by_test_id("size-mode").select_option(mode)
        await wait_until(author, f"window.__spatialviz.viewTools.sizeMode === '{mode}'")
        await wait_until(author, "window.__spatialviz.viewTools.pointSize > 0")
    await author.get_by_test_id("edl-toggle").uncheck()
    await wait_until(author, "window.__spatialviz.pointsDrawn > 0")

    # Hovering a chart's point shows its row beside the pointer.
    await _open(author, live_server, chart["scene"]["id"])
    ndc = await author.evaluate(_PLACE_ON_A_POINT)
    assert ndc is not None, "no chart point under any probed position"
    box = await canvas.bounding_box()
    assert box is not None
    x = box["x"] + (ndc[0] + 1) / 2 * box["width"]
    y = box["y"] + (1 - ndc[1]) / 2 * box["height"]
    await author.mouse.move(x, y)
    tooltip = author.get_by_test_id("chart-tooltip")
    await expect(tooltip).to_be_visible(timeout=60_000)
    await expect(tooltip).to_contain_text("temperature")
    shown = await author.evaluate("window.__spatialviz.hover")
    assert shown["shown"] is True
    assert shown["rowId"] is not None
    await author.mouse.move(box["x"] + 2, box["y"] + 2)  # empty corner: the tooltip goes
    await expect(tooltip).to_be_hidden(timeout=60_000)

    assert author_tab.problems == [], author_tab.problems
    assert reader_tab.problems == [], reader_tab.problems


async def test_a_share_link_page_shows_notes_live(browser: Browser, live_server: str) -> None:
    """A page opened from a share link (no account) follows the scene's notes over its own
    socket: a note the owner adds appears without a reload, with no author name, and goes
    when it is removed."""
    async with httpx.AsyncClient(base_url=live_server, timeout=120) as client:
        owner = await register(client, email="share.owner@example.com", display_name="Olga Owner")
        headers = bearer((await sign_in(client, owner["email"]))["access_token"])
        workspace = owner["personal_workspace_id"]
        dataset = await ready_dataset(client, headers, workspace, csv_bytes(2000), "s.csv")
        created = await create_scene(client, headers, dataset["id"])
        scene_id = created["scene"]["id"]
        done = await wait_for_scene(client, headers, scene_id, within=120)
        assert done["status"] == "ready", done
        link = await client.post(f"/api/v1/scenes/{scene_id}/share-links", headers=headers)
        assert link.status_code == 201, link.text
        share_url = httpx.URL(live_server).join(link.json()["url"])

        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        try:
            tab = Tab(await context.new_page())
            page = tab.page
            await page.goto(str(share_url))
            await wait_until(page, "window.__spatialviz.pointsDrawn > 0")
            await expect(page.get_by_test_id("read-only")).to_be_visible()
            panel = page.get_by_test_id("annotations-panel")
            await expect(panel).to_contain_text("No notes yet")

            added = await client.post(
                f"/api/v1/scenes/{scene_id}/annotations",
                json={"text": "Seen by the link", "position": [0, 0, 0]},
                headers=headers,
            )
            assert added.status_code == 201, added.text
            items = page.get_by_test_id("annotation-item")
            await expect(items).to_have_count(1, timeout=60_000)
            await expect(items).to_contain_text("Seen by the link")
            await expect(items).not_to_contain_text("Olga Owner")

            gone = await client.delete(
                f"/api/v1/scenes/{scene_id}/annotations/{added.json()['id']}", headers=headers
            )
            assert gone.status_code == 204
            await expect(items).to_have_count(0, timeout=60_000)
            assert tab.problems == [], tab.problems
        finally:
            await context.close()
