"""A real headless Chromium (Debian's package, never a browser a test tool downloads),
driven by Playwright. CI sets SPATIALVIZ_REQUIRE_BROWSER=1, so a missing browser or an
unbuilt web client fails the run there instead of skipping."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright, expect

from spatialviz.web import STATIC_DIR

CHROMIUM = os.environ.get("SPATIALVIZ_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("SPATIALVIZ_REQUIRE_BROWSER") == "1"
# Bounds on waits for the page, never timing checks: a suite in 3 processes beside
# `stress --cpu 4` once took more than 15 s to show the signed-in header. Playwright's own
# default for expect() is 5 s.
expect.set_options(timeout=60_000)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu-sandbox",
    "--use-gl=angle",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _missing() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if not (STATIC_DIR / "index.html").exists():
        return "the web client is not built (make web)"
    return None


def require(missing: str | None) -> None:
    """Skip when a browser test cannot run here; fail instead where CI demands the browser."""
    if missing is None:
        return
    if REQUIRED:
        pytest.fail(missing)
    pytest.skip(missing)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium with the flags this closed, GPU-less machine needs."""
    async with async_playwright() as p:
        instance = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            await instance.close()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    require(_missing())
    async with chromium() as instance:
        yield instance


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    yield tab
    await context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@asynccontextmanager
async def watched_tab(
    browser: Browser, width: int = 1280, height: int = 800
) -> AsyncIterator[tuple[Page, list[str]]]:
    """A tab whose console errors and uncaught exceptions are collected, for tests that
    fail on any of them."""
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    try:
        yield page, problems
    finally:
        await context.close()


async def sign_in_through_ui(page: Page, base: str, email: str, password: str) -> None:
    await page.goto(f"{base}/login")
    await page.get_by_test_id("auth-email").fill(email)
    await page.get_by_test_id("auth-password").fill(password)
    await page.get_by_test_id("auth-submit").click()
    await expect(page.get_by_test_id("sign-out")).to_be_visible(timeout=60_000)
