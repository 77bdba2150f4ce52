"""The box tool on scenes whose tiles are not in the dataset's frame, and recolouring by a
text column (issue 17), in headless Chromium against the real server: the box tool's own
default box counts what a numpy/pyproj oracle over the source rows counts, on the demo chart
(chart-box coordinates) and on a georeferenced LAS (east-north-up metres); colouring the
demo chart by region shows a legend naming the regions with their counts, and hiding one
drops the drawn point count by exactly that region's count. Any console error or uncaught
exception fails the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from playwright.async_api import Browser, Page, expect

from spatialviz.config import Settings
from spatialviz.demo.command import CHART_ROWS, DEMO_EMAIL, run_demo
from spatialviz.demo.generate import write_measurements_csv
from tests.e2e.conftest import sign_in_through_ui, watched_tab
from tests.e2e.helpers import ready_utm_las_scene, wait_until
from tests.scene_api.box_oracles import chart_oracle, enu_oracle


@pytest.fixture
async def watched_page(browser: Browser) -> AsyncIterator[tuple[Page, list[str]]]:
    async with watched_tab(browser, 1440, 900) as watched:
        yield watched


async def _default_box(page: Page) -> tuple[np.ndarray, np.ndarray]:
    """The box tool's own default box, as its inputs show it."""
    await wait_until(page, "document.querySelector('[data-testid=box-x-min]').value !== ''")
    lo, hi = [], []
    for axis in "xyz":
        lo.append(float(await page.get_by_test_id(f"box-{axis}-min").input_value()))
        hi.append(float(await page.get_by_test_id(f"box-{axis}-max").input_value()))
    return np.array(lo), np.array(hi)


async def _run_box(page: Page) -> int:
    await page.get_by_test_id("box-run").click()
    await expect(page.get_by_test_id("box-count")).to_be_visible()
    count: int = await page.evaluate("window.__spatialviz.lastBox.count")
    return count


async def test_the_demo_chart_box_counts_and_regions_hide(
    watched_page: tuple[Page, list[str]], live_server: str, settings: Settings, tmp_path: Path
) -> None:
    page, problems = watched_page
    demo = await run_demo(settings, points=3_000)
    await sign_in_through_ui(page, live_server, DEMO_EMAIL, demo.password)
    scene_id = demo.scenes["chart"]["id"]
    await page.goto(f"{live_server}/scenes/{scene_id}")
    await wait_until(page, "window.__spatialviz.pointsDrawn > 0")
    await wait_until(page, "!window.__spatialviz.tilesLoading")

    # The oracle: the same generator, same seed, as the demo wrote; chart box 1 x 1 x 1.
    source = write_measurements_csv(tmp_path / "demo.csv", rows=CHART_ROWS)
    pos, _population = chart_oracle(source, [1.0, 1.0, 1.0])
    lo, hi = await _default_box(page)
    await expect(page.get_by_test_id("box-frame")).to_contain_text("chart-box")
    expected = int(np.all((pos >= lo) & (pos <= hi), axis=1).sum())
    assert 0 < expected < CHART_ROWS
    assert await _run_box(page) == expected

    # Colour by region: the legend names the regions with their counts over every row.
    regions = np.genfromtxt(source, delimiter=",", names=True, dtype=None, encoding="utf-8")[
        "region"
    ]
    offered = await page.get_by_test_id("color-by").locator("option").all_inner_texts()
    assert "region (categorical)" in offered
    await page.get_by_test_id("color-by").select_option("region")
    legend = page.get_by_test_id("legend")
    await expect(legend).to_have_attribute("data-kind", "categorical")
    attributes = await page.evaluate(
        """async (id) => {
            const tokens = JSON.parse(localStorage.getItem('spatialviz.tokens'));
            const r = await fetch(`/api/v1/scenes/${id}`,
              { headers: { Authorization: `Bearer ${tokens.access_token}` } });
            return (await r.json()).attributes;
        }""",
        scene_id,
    )
    region = next(a for a in attributes if a["name"] == "region")
    names = region["categories"]
    assert sorted(names) == ["centre", "east", "north", "south", "west"]
    for code, name in enumerate(names):
        count = int((regions == name).sum())
        await expect(legend).to_contain_text(name)
        await expect(page.get_by_test_id(f"legend-count-{code}")).to_have_text(f" {count:,}")

    # Hiding one region drops the drawn count by exactly its rows.
    drawn = await page.evaluate("window.__spatialviz.pointsDrawn")
    assert drawn == CHART_ROWS
    hidden = names.index("east")
    await page.get_by_test_id(f"legend-toggle-{hidden}").uncheck()
    east = int((regions == "east").sum())
    await wait_until(page, f"window.__spatialviz.pointsDrawn === {CHART_ROWS - east}")
    await expect(page.get_by_test_id("scene-hud")).to_contain_text(f"{CHART_ROWS - east:,} points")
    assert problems == [], problems


async def test_a_georeferenced_scene_box_counts_in_east_north_up_metres(
    watched_page: tuple[Page, list[str]], live_server: str, tmp_path: Path
) -> None:
    page, problems = watched_page
    email = "viewer.box.georef@example.com"
    source, _, scene = await ready_utm_las_scene(page, live_server, email, tmp_path)
    async with httpx.AsyncClient(base_url=live_server, timeout=120) as client:
        tileset = (await client.get(scene["tileset_url"])).json()
    enu = enu_oracle(source, tileset)
    await page.goto(f"{live_server}/scenes/{scene['id']}")
    await wait_until(page, "window.__spatialviz.pointsDrawn > 0")
    lo, hi = await _default_box(page)
    await expect(page.get_by_test_id("box-frame")).to_contain_text("east-north-up")
    expected = int(np.all((enu >= lo) & (enu <= hi), axis=1).sum())
    assert expected > 0
    assert await _run_box(page) == expected
    assert problems == [], problems


async def test_the_demo_chart_names_its_axes_in_readable_numbers(
    watched_page: tuple[Page, list[str]], live_server: str, settings: Settings, tmp_path: Path
) -> None:
    """Issue "The demo chart reads poorly next to Plotly": the income axis is titled with
    its column and its ticks read 20k … (not 20000 in tiny type); the chart opens with
    points large enough to see each row."""
    page, problems = watched_page
    demo = await run_demo(settings, points=3_000)
    await sign_in_through_ui(page, live_server, DEMO_EMAIL, demo.password)
    await page.goto(f"{live_server}/scenes/{demo.scenes['chart']['id']}")
    await wait_until(page, "window.__spatialviz.pointsDrawn > 0")
    await wait_until(page, "(window.__spatialviz.axisLabels ?? []).length > 0")
    labels: list[str] = await page.evaluate("window.__spatialviz.axisLabels")
    assert {"age", "income", "happiness"} <= set(labels), labels
    assert any(label.endswith("k") for label in labels), labels
    assert not any(label.isdigit() and len(label) > 4 for label in labels), labels
    await expect(page.get_by_test_id("point-size")).to_have_value("5")
    await wait_until(page, "window.__spatialviz.viewTools?.pointSize === 5")
    await page.get_by_test_id("viewer-canvas").screenshot(path=str(tmp_path / "chart.png"))
    assert problems == [], problems
