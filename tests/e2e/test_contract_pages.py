"""In Chromium against the real server: the demo's dataset pages load (they showed only
"Could not load the dataset." when the API's crs object met a client typed for a string),
and the API docs render from our own assets with every other host unreachable."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, Route, expect

from spatialviz.config import Settings
from spatialviz.demo.command import DEMO_EMAIL, run_demo
from tests.e2e.conftest import sign_in_through_ui, watched_tab

POINTS = 3_000


@pytest.fixture
async def watched_page(browser: Browser) -> AsyncIterator[tuple[Page, list[str]]]:
    async with watched_tab(browser) as watched:
        yield watched


async def test_the_demo_dataset_pages_load(
    watched_page: tuple[Page, list[str]], live_server: str, settings: Settings
) -> None:
    page, problems = watched_page
    demo = await run_demo(settings, points=POINTS)
    await sign_in_through_ui(page, live_server, DEMO_EMAIL, demo.password)

    for key, dataset in demo.datasets.items():
        await page.goto(f"{live_server}/datasets/{dataset['id']}")
        await expect(page.get_by_role("heading", name=dataset["name"])).to_be_visible()
        await expect(page.get_by_test_id("dataset-status")).to_have_text("ready")
        await expect(page.get_by_test_id("dataset-crs")).to_be_visible()
        # The dataset page holds the form that makes a scene (the only UI way for a CLI upload).
        await expect(page.locator("form")).to_be_visible()
        await expect(page.get_by_text("Could not load")).to_have_count(0)
        assert await page.locator(".error").count() == 0, key
    assert problems == []


async def test_the_api_docs_render_offline(
    watched_page: tuple[Page, list[str]], live_server: str
) -> None:
    page, problems = watched_page
    elsewhere: list[str] = []

    async def same_origin_only(route: Route) -> None:
        if route.request.url.startswith(live_server):
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    await page.route("**/*", same_origin_only)
    await page.goto(f"{live_server}/docs")
    await expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    await expect(page.get_by_text("/api/v1/datasets/{dataset_id}").first).to_be_visible()
    assert elsewhere == []
    assert problems == []
