"""Browser test helpers shared by the tests/e2e modules: registering through the UI, polling
the page's state, and a ready scene of a georeferenced LAS uploaded by a UI-registered user."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.e2e.cesium_support import las_in_utm
from tests.scene_api.helpers import create_scene, ready_dataset, wait_for_scene

PASSWORD = "a long browser password 7"


async def register_through_ui(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/register")
    await page.get_by_test_id("auth-email").fill(email)
    await page.get_by_test_id("auth-password").fill(PASSWORD)
    await page.get_by_test_id("auth-submit").click()
    await expect(page.get_by_test_id("sign-out")).to_be_visible(timeout=60_000)


# Bounds a page that would otherwise wait for ever, nothing else: on a busy machine (stress
# beside the suite) a scene query took 17 s and a click's pick more than 15 s.
WAIT_BOUND_SECONDS = 120.0


async def wait_until(page: Page, expression: str, within: float = WAIT_BOUND_SECONDS) -> None:
    """Poll a JavaScript expression with page.evaluate (the app's CSP forbids the eval that
    Playwright's wait_for_function uses, and tests must not loosen the CSP)."""
    deadline = time.monotonic() + within
    while not await page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {within}s: {expression}")
        await asyncio.sleep(0.1)


async def ready_utm_las_scene(
    page: Page, base: str, email: str, tmp_path: Path
) -> tuple[Path, dict[str, str], dict[str, Any]]:
    """Register ``email`` through the UI, write a LAS in UTM metres (``las_in_utm``), upload
    it to the user's workspace with the page's own token and wait for its scene to be ready:
    (the LAS file, the bearer headers, the ready scene)."""
    await register_through_ui(page, base, email)
    tokens = json.loads(await page.evaluate("localStorage.getItem('spatialviz.tokens')"))
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    source = tmp_path / "survey.las"
    las_in_utm(source)
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        me = (await client.get("/api/v1/me", headers=headers)).json()
        workspace = me["workspaces"][0]["id"]
        dataset = await ready_dataset(client, headers, workspace, source.read_bytes(), "u.las")
        created = await create_scene(client, headers, dataset["id"])
        scene = await wait_for_scene(client, headers, created["scene"]["id"], within=120)
    assert scene["status"] == "ready", scene
    return source, headers, scene
