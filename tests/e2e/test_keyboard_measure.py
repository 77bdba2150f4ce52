"""Measuring without a mouse (issue 17, "keyboard and screen-reader access kept"), in headless
Chromium against the real server: the Distance tool reached with Tab and chosen with Enter puts
focus on the measuring crosshair; arrow keys move the view, Enter places the point under the
crosshair, Backspace removes the last one, Escape finishes. The distance equals the distance
between the rows the server returns for the placed points, and the live region announced each
point and the result. Any console error or uncaught exception fails the test."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from spatialviz.config import Settings
from spatialviz.demo.command import DEMO_EMAIL, run_demo
from tests.e2e.conftest import sign_in_through_ui, watched_tab
from tests.e2e.helpers import wait_until

POINTS = 3_000
ACTIVE_TESTID = "document.activeElement && document.activeElement.dataset.testid"


async def _tab_to(page: Page, testid: str, limit: int = 120) -> None:
    """Presses Tab until `testid` has focus (it must be reachable from the keyboard)."""
    for _ in range(limit):
        if await page.evaluate(ACTIVE_TESTID) == testid:
            return
        await page.keyboard.press("Tab")
    pytest.fail(f"{testid} is not reachable with Tab")


async def _aimed_row(page: Page) -> int | None:
    row = await page.get_by_test_id("measure-crosshair").get_attribute("data-row")
    return int(row) if row is not None else None


async def _move_until_on_a_new_point(page: Page, key: str, avoid: set[int], presses: int) -> int:
    """Presses `key` at least `presses` times, then until the crosshair is on a point not in
    `avoid`."""
    for pressed in range(1, 60):
        await page.keyboard.press(key)
        row = await _aimed_row(page)
        if pressed >= presses and row is not None and row not in avoid:
            return row
    pytest.fail(f"{key} never brought the crosshair onto a new point")


async def _measure(page: Page) -> dict[str, Any]:
    measure: dict[str, Any] = await page.evaluate("window.__spatialviz.tools.measure")
    return measure


async def test_a_distance_measured_with_the_keyboard_only(
    browser: Browser, live_server: str, settings: Settings
) -> None:
    demo = await run_demo(settings, points=POINTS)
    scene_id = demo.scenes["lidar"]["id"]
    async with watched_tab(browser, 1440, 900) as (page, problems):
        await sign_in_through_ui(page, live_server, DEMO_EMAIL, demo.password)
        tokens = json.loads(await page.evaluate("localStorage.getItem('spatialviz.tokens')"))
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        await page.goto(f"{live_server}/scenes/{scene_id}")
        await wait_until(page, "window.__spatialviz.pointsDrawn > 0")
        ready = "!window.__spatialviz.tilesLoading && !!window.__spatialviz.tools"
        await wait_until(page, ready)

        # The tool is chosen from the keyboard: focus goes on to the crosshair.
        await _tab_to(page, "measure-distance")
        await page.keyboard.press("Enter")
        distance_button = page.get_by_test_id("measure-distance")
        await expect(distance_button).to_have_attribute("aria-pressed", "true")
        assert await page.evaluate(ACTIVE_TESTID) == "measure-crosshair"
        announce = page.get_by_test_id("measure-announce")
        await expect(announce).to_contain_text("Distance:")

        first = await _aimed_row(page)
        if first is None:
            first = await _move_until_on_a_new_point(page, "ArrowRight", set(), 1)
        await page.keyboard.press("Enter")
        await wait_until(page, "window.__spatialviz.tools.measure.points === 1")
        await expect(announce).to_contain_text("Point 1 placed at")

        await _move_until_on_a_new_point(page, "d", {first}, 6)
        await page.keyboard.press("Enter")
        await wait_until(page, "window.__spatialviz.tools.measure.points === 2")
        await expect(announce).to_contain_text("Point 2 placed at")

        # A third point, then Backspace takes it back.
        await _move_until_on_a_new_point(page, "ArrowUp", set(), 3)
        await page.keyboard.press("Enter")
        await wait_until(page, "window.__spatialviz.tools.measure.points === 3")
        await page.keyboard.press("Backspace")
        await wait_until(page, "window.__spatialviz.tools.measure.points === 2")
        await expect(announce).to_have_text("Last point removed; 2 left.")

        await page.keyboard.press("Escape")
        await wait_until(page, "window.__spatialviz.tools.measure.done.length === 1")
        done = (await _measure(page))["done"][0]
        assert done["kind"] == "distance"
        rows = done["rows"]
        assert None not in rows, rows
        assert len(set(rows)) == 2, rows
        assert rows[0] == first

        async with httpx.AsyncClient(base_url=live_server, timeout=120) as client:
            picked = []
            for row in rows:
                answer = await client.post(
                    f"/api/v1/scenes/{scene_id}/query",
                    headers=headers,
                    json={"kind": "pick", "row": row},
                )
                assert answer.status_code == 200, answer.text
                picked.append(answer.json()["row"])
        expected = math.dist(*([r["x"], r["y"], r["z"]] for r in picked))
        assert expected > 1.0
        assert done["value"] == pytest.approx(expected, abs=1e-6)
        await expect(announce).to_have_text(f"Distance finished: {expected:,.3f} m.")
        await expect(page.get_by_test_id("measure-item")).to_contain_text(f"{expected:,.3f} m")
        assert problems == [], problems
