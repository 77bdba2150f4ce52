"""Every kind of tileset the product writes, drawn by CesiumJS, the reference 3D Tiles
client, in Debian's headless Chromium (WebGL on SwiftShader).

CesiumJS comes from npm (`make cesium`, pinned in tools/cesium/package-lock.json) and is
served with the harness page (tests/e2e/cesium/) from a loopback server; it may reach only
this machine: no ion token, no imagery, no terrain, no globe, and any other request is
aborted and reported. For each tileset the test asserts that CesiumJS reports nothing (no
console error, failed tile, render error or failed request), that `viewer.zoomTo` centres
the tileset's bounding sphere on the screen, that points are drawn (pixels unlike the
background in the drawing buffer) and, for georeferenced data, that the bounding sphere is
where pyproj puts the data: centre within metres horizontally, height within
HEIGHT_TOLERANCE_M, radius within 10 %.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Request,
    Response,
    Route,
)
from typer.testing import CliRunner

from spatialviz.cli import app as cli
from spatialviz.config import Settings
from tests.dataset.helpers import csv_bytes
from tests.e2e.cesium_support import (
    CESIUM_BUILD,
    HARNESS,
    Truth,
    drawn_pixels,
    geojson_in_degrees,
    horizontal_offset,
    las_in_utm,
    las_truth,
    static_server,
)
from tests.e2e.conftest import CHROMIUM, chromium, require
from tests.factories import register_and_sign_in
from tests.realdata import realdata
from tests.scene_api.helpers import ready_scene

POINT_SIZE_PX = 4
MIN_DRAWN_PIXELS = 2_000
CENTRE_TOLERANCE = 0.02  # of the canvas size
HEIGHT_TOLERANCE_M = 100.0
"""Wider than any geoid-ellipsoid separation (|N| < 107 m), far narrower than a unit
mistake (feet read as metres puts autzen 322 m too high; degrees put a tileset at the
Earth's centre)."""
LOAD_WITHIN_MS = 90_000
"""A bound on waiting for tiles, so a tileset CesiumJS never finishes fails with a
message instead of hanging; not a performance check."""


def _unavailable() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if not (CESIUM_BUILD / "Cesium.js").exists():
        return f"CesiumJS is not installed at {CESIUM_BUILD} (make cesium)"
    return None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(origin, folder): CesiumJS's build, the harness, and tilesets written to the folder."""
    tilesets = tmp_path_factory.mktemp("cesium-tilesets")
    roots = {"/Cesium/": CESIUM_BUILD, "/tilesets/": tilesets, "/": HARNESS}
    with static_server(roots) as origin:
        yield origin, tilesets


@pytest.fixture(scope="module")
async def cesium_browser() -> AsyncIterator[Browser]:
    require(_unavailable())
    async with chromium() as instance:
        yield instance


@dataclass
class Shown:
    """What CesiumJS said and did with one tileset."""

    problems: list[str]
    centre: list[float] | None
    canvas: list[float]
    radius: float
    lon_lat_height: list[float] | None
    drawn: int


@dataclass
class CesiumPage:
    page: Page
    problems: list[str] = field(default_factory=list)

    async def show(self, tileset_url: str) -> Shown:
        """Load the tileset, zoomTo it, wait for its tiles, capture the drawing buffer."""
        report: dict[str, Any] = await self.page.evaluate(
            "([url, size, within]) => showTileset(url, size, within)",
            [tileset_url, POINT_SIZE_PX, LOAD_WITHIN_MS],
        )
        capture: str = await self.page.evaluate("canvasPng()")
        # Errors Cesium reports after the answer (it keeps rendering) count too.
        late: list[str] = await self.page.evaluate("window.spatialvizErrors")
        problems = self.problems + [e.splitlines()[0][:400] for e in late]
        return Shown(
            problems=problems,
            centre=report["centre"],
            canvas=report["canvas"],
            radius=report["radius"],
            lon_lat_height=report["lonLatHeight"],
            drawn=drawn_pixels(capture, report["background"]),
        )


def _watch(context: BrowserContext, page: Page, problems: list[str]) -> None:
    """Everything that counts as CesiumJS (or the browser) complaining."""

    def note(text: str) -> None:
        # The first lines say what went wrong; Cesium follows with whole shader dumps.
        problems.append("\n".join(text.splitlines()[:3])[:400])

    def on_response(response: Response) -> None:
        if response.status >= 400:
            note(f"HTTP {response.status} for {response.url}")

    def on_failed(request: Request) -> None:
        note(f"request failed: {request.url} ({request.failure})")

    page.on("console", lambda m: note(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: note(f"page error: {e}"))
    page.on("response", on_response)
    page.on("requestfailed", on_failed)
    context.on("weberror", lambda e: note(f"web error: {e.error}"))


@pytest.fixture
async def cesium(cesium_browser: Browser, site: tuple[str, Path]) -> AsyncIterator[CesiumPage]:
    origin, _ = site
    context = await cesium_browser.new_context(viewport={"width": 640, "height": 480})
    page = await context.new_page()
    problems: list[str] = []

    async def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            problems.append(f"request off this machine: {route.request.url}")
            await route.abort()

    await context.route("**/*", only_loopback)
    _watch(context, page, problems)
    await page.goto(f"{origin}/index.html")
    await page.wait_for_function("window.cesiumReady === true")
    yield CesiumPage(page, problems)
    await context.close()


def drawing_faults(shown: Shown) -> list[str]:
    """What is wrong with how CesiumJS drew a tileset (empty: nothing)."""
    faults = [f"CesiumJS reported: {problem}" for problem in shown.problems]
    if shown.centre is None:
        faults.append("the bounding sphere's centre is not on screen after zoomTo")
    else:
        width, height = shown.canvas
        off = max(
            abs(shown.centre[0] - width / 2) / width, abs(shown.centre[1] - height / 2) / height
        )
        if off > CENTRE_TOLERANCE:
            faults.append(f"after zoomTo the centre is drawn at {shown.centre} on {shown.canvas}")
    if shown.drawn <= MIN_DRAWN_PIXELS:
        faults.append(f"only {shown.drawn} pixels drawn (want > {MIN_DRAWN_PIXELS})")
    return faults


def placement_faults(shown: Shown, truth: Truth) -> list[str]:
    """Where CesiumJS put the tileset against where pyproj puts the data."""
    if shown.lon_lat_height is None:
        return ["the bounding sphere's centre is at the Earth's centre"]
    lon, lat, height = shown.lon_lat_height
    faults = []
    if abs(height - truth.height) > HEIGHT_TOLERANCE_M:
        faults.append(
            f"centre {height:.1f} m above the ellipsoid, the data's is {truth.height:.1f} m"
        )
    offset = horizontal_offset(truth, lon, lat)
    if offset > max(5.0, 0.02 * truth.radius):
        faults.append(
            f"centre ({lon:.6f}, {lat:.6f}) is {offset:.1f} m from the data's "
            f"({truth.lon:.6f}, {truth.lat:.6f})"
        )
    if abs(shown.radius / truth.radius - 1) > 0.10:
        faults.append(
            f"bounding sphere radius {shown.radius:.1f} m, the data's half diagonal "
            f"{truth.radius:.1f} m"
        )
    return faults


def assert_shown_right(shown: Shown, truth: Truth | None = None) -> None:
    """Every fault at once, so a failing kind says all that is wrong with it."""
    faults = drawing_faults(shown) + (placement_faults(shown, truth) if truth else [])
    assert not faults, "\n".join(faults)


def tile_with_cli(source: Path, out: Path, *flags: str) -> None:
    result = CliRunner().invoke(cli, ["tile", str(source), str(out), "--jobs", "1", *flags])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("compression", ["none", "meshopt"])
async def test_las_tiled_by_the_cli(
    cesium: CesiumPage, site: tuple[str, Path], tmp_path: Path, compression: str
) -> None:
    origin, tilesets = site
    source = tmp_path / "survey.las"
    truth = las_in_utm(source)
    tile_with_cli(source, tilesets / f"las-{compression}", "--compression", compression)
    shown = await cesium.show(f"{origin}/tilesets/las-{compression}/tileset.json")
    assert_shown_right(shown, truth)


async def test_feet_crs_las(cesium: CesiumPage, site: tuple[str, Path]) -> None:
    source = realdata("autzen_trim.laz")
    origin, tilesets = site
    tile_with_cli(source, tilesets / "autzen")
    shown = await cesium.show(f"{origin}/tilesets/autzen/tileset.json")
    assert_shown_right(shown, las_truth(source))


@pytest.fixture
def cors_settings(settings: Settings, site: tuple[str, Path]) -> Settings:
    """The server lets the harness's origin read its tiles (asked for before live_server)."""
    settings.cors_origins = [site[0]]
    return settings


async def server_tileset(
    live_server: str, data: bytes, filename: str, encoding: dict[str, Any] | None = None
) -> str:
    """Upload through the API, wait for the scene, and give its signed tileset URL."""
    # A generous bound per request: the CI machine may be loaded (a bound, not a timing check).
    async with httpx.AsyncClient(base_url=live_server, timeout=120) as client:
        user, headers = await register_and_sign_in(client)
        scene = await ready_scene(
            client, headers, user["personal_workspace_id"], data, filename, encoding
        )
    url: str = scene["tileset_url"]
    return f"{live_server}{url}"


async def test_las_tiled_by_the_server_default(
    cesium: CesiumPage, cors_settings: Settings, live_server: str, tmp_path: Path
) -> None:
    source = tmp_path / "survey.las"
    truth = las_in_utm(source)
    url = await server_tileset(live_server, source.read_bytes(), "survey.las")
    shown = await cesium.show(url)
    assert_shown_right(shown, truth)


async def test_csv_chart(cesium: CesiumPage, cors_settings: Settings, live_server: str) -> None:
    chart = {"position": {"x": "x", "y": "y", "z": "temperature", "chart_box": {}}}
    url = await server_tileset(live_server, csv_bytes(3000), "readings.csv", chart)
    assert_shown_right(await cesium.show(url))


async def test_geojson_in_degrees(
    cesium: CesiumPage, cors_settings: Settings, live_server: str
) -> None:
    data, truth = geojson_in_degrees()
    url = await server_tileset(live_server, data, "sites.geojson")
    shown = await cesium.show(url)
    assert_shown_right(shown, truth)
