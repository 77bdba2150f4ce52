"""In Chromium against the real server, on the demo data:

- at 390x844 (a phone) the home, dataset and scene pages are no wider than the screen, Sign
  out and every column of the dataset table are on screen, and Sign out is reached with Tab
  under its accessible name (it was cut off and two table columns with it);
- the JavaScript a scene page has loaded when it draws its first frame with points, gzip
  level 9, stays within issue 17's 400 KB (bench/client.py prints the same figure).
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from spatialviz.config import Settings
from spatialviz.demo.command import DEMO_EMAIL, run_demo

POINTS = 3_000
JS_BEFORE_FIRST_FRAME_BUDGET = 400_000

FIRST_FRAME_PROBE = """
(() => {
  const tick = () => {
    const d = window.__spatialviz;
    if (d && d.pointsDrawn > 0) { window.__firstFrameAt = performance.now(); return; }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""

WIDER_THAN_SCREEN = """
() => [...document.querySelectorAll('body *')]
  .map((e) => [e, e.getBoundingClientRect()])
  .filter(([, b]) => b.width > 0 && b.right > innerWidth + 0.5)
  .slice(0, 5)
  .map(([e, b]) => `${e.tagName.toLowerCase()}.${e.className} right=${Math.round(b.right)}`)
"""


async def _tab(browser: Browser, width: int, height: int) -> Page:
    context = await browser.new_context(viewport={"width": width, "height": height})
    await context.add_init_script(FIRST_FRAME_PROBE)
    return await context.new_page()


@pytest.fixture
async def demo_tokens(live_server: str, settings: Settings) -> dict[str, Any]:
    demo = await run_demo(settings, points=POINTS)
    async with httpx.AsyncClient(base_url=live_server) as client:
        response = await client.post(
            "/api/v1/auth/token", data={"username": DEMO_EMAIL, "password": demo.password}
        )
        response.raise_for_status()
        tokens: dict[str, Any] = response.json()
        scenes = (
            await client.get(
                "/api/v1/scenes", headers={"Authorization": f"Bearer {tokens['access_token']}"}
            )
        ).json()["items"]
    return {"tokens": tokens, "scenes": scenes}


async def _open_signed_in(page: Page, base: str, tokens: dict[str, Any]) -> None:
    await page.goto(f"{base}/login")
    await page.evaluate("t => localStorage.setItem('spatialviz.tokens', t)", json.dumps(tokens))


async def _fits_the_screen(page: Page, what: str) -> None:
    await expect(page.get_by_test_id("sign-out")).to_be_visible()
    widths = await page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
    assert widths[0] <= widths[1], (what, widths, await page.evaluate(WIDER_THAN_SCREEN))
    sign_out = await page.get_by_test_id("sign-out").bounding_box()
    assert sign_out is not None
    assert sign_out["x"] + sign_out["width"] <= widths[1], what


async def test_phone_layout_fits_390_pixels(
    browser: Browser, live_server: str, demo_tokens: dict[str, Any]
) -> None:
    page = await _tab(browser, 390, 844)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await _open_signed_in(page, live_server, demo_tokens["tokens"])

    await page.goto(f"{live_server}/")
    table = page.locator("table").first
    await expect(table.locator("tbody tr")).to_have_count(len(demo_tokens["scenes"]))
    await _fits_the_screen(page, "home")
    for header in await table.locator("th").all():
        await expect(header).to_be_in_viewport(ratio=1)
    # Keyboard: Tab reaches Sign out, which a screen reader announces by its name.
    sign_out = page.get_by_role("button", name="Sign out")
    for _ in range(12):
        await page.keyboard.press("Tab")
        if await sign_out.evaluate("e => e === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached Sign out")

    for scene in demo_tokens["scenes"]:
        await page.goto(f"{live_server}/datasets/{scene['dataset_id']}")
        await expect(page.get_by_test_id("dataset-status")).to_have_text("ready")
        await _fits_the_screen(page, f"dataset {scene['name']}")
        await page.goto(f"{live_server}/scenes/{scene['id']}")
        await page.wait_for_function("() => window.__firstFrameAt !== undefined", timeout=60_000)
        await _fits_the_screen(page, f"scene {scene['name']}")
        await expect(page.get_by_test_id("box-run")).to_be_visible()
    await page.context.close()
    assert errors == []


async def test_js_before_the_first_frame_is_within_budget(
    browser: Browser, live_server: str, demo_tokens: dict[str, Any]
) -> None:
    page = await _tab(browser, 1280, 800)
    await _open_signed_in(page, live_server, demo_tokens["tokens"])
    for scene in demo_tokens["scenes"]:
        await page.goto(f"{live_server}/scenes/{scene['id']}")
        await page.wait_for_function("() => window.__firstFrameAt !== undefined", timeout=60_000)
        urls: list[str] = await page.evaluate(
            "() => performance.getEntriesByType('resource')"
            ".filter((e) => e.responseEnd <= window.__firstFrameAt).map((e) => e.name)"
        )
        scripts = sorted({u.split("?")[0] for u in urls if u.split("?")[0].endswith(".js")})
        assert scripts, "no script counted: the probe saw nothing"
        async with httpx.AsyncClient() as client:
            sizes = {
                url.rsplit("/", 1)[-1]: len(gzip.compress((await client.get(url)).content, 9))
                for url in scripts
            }
        total = sum(sizes.values())
        assert total <= JS_BEFORE_FIRST_FRAME_BUDGET, (scene["name"], total, sizes)
    await page.context.close()
