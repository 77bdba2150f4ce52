"""End to end in headless Chromium against the real server: register, upload a CSV through
the UI (tus), and watch ingest reach ready."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.dataset.helpers import csv_bytes


async def register_through_ui(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/register")
    await page.get_by_test_id("auth-email").fill(email)
    await page.get_by_test_id("auth-password").fill("a long browser password 7")
    await page.get_by_test_id("auth-submit").click()
    await expect(page.get_by_test_id("sign-out")).to_be_visible(timeout=15_000)


@pytest.mark.skip(reason="the UI's upload flow goes on to create a scene: needs the scenes API")
async def test_upload_csv_and_watch_it_become_ready(
    page: Page, live_server: str, tmp_path: Path
) -> None:
    await register_through_ui(page, live_server, "viewer.one@example.com")
    source = tmp_path / "survey.csv"
    source.write_bytes(csv_bytes(500))
    await page.get_by_test_id("upload-input").set_input_files(str(source))
    row = page.locator('[data-testid="dataset-row"][data-status="ready"]')
    await expect(row).to_have_count(1, timeout=60_000)


async def test_register_and_see_the_empty_workspace(page: Page, live_server: str) -> None:
    await register_through_ui(page, live_server, "first.user@example.com")
    await expect(page.get_by_test_id("datasets-empty")).to_be_visible()
    await expect(page.get_by_test_id("workspace-select")).to_contain_text("(owner)")
