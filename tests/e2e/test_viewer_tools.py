"""The viewer's LiDAR tools on the demo scene, in headless Chromium against the real server
(issue 17, "Tools a LiDAR user expects"): a distance measured between two clicked points
equals the distance between the rows the server returns for them, a clip box changes what is
drawn (the pixels and the kept-point count, which matches the server's own box count), and a
height profile collects points. Any console error or uncaught exception fails the test."""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.async_api import Browser, Page, expect

from spatialviz.config import Settings
from spatialviz.demo.command import DEMO_EMAIL, run_demo
from tests.e2e.conftest import sign_in_through_ui, watched_tab
from tests.e2e.helpers import ready_utm_las_scene, wait_until

POINTS = 3_000

# Every point the viewer can pick from a grid of screen positions (no tool active yet).
_PROBE = """() => {
    const found = [];
    for (let y = -0.6; y <= 0.6; y += 0.1)
      for (let x = -0.6; x <= 0.6; x += 0.1) {
        const h = window.__spatialviz.actions.pickAt(x, y);
        if (h && h.rowId !== null) found.push({ rowId: h.rowId, ndc: [x, y], point: h.point });
      }
    return found;
}"""


@pytest.fixture
async def watched_page(browser: Browser) -> AsyncIterator[tuple[Page, list[str]]]:
    async with watched_tab(browser, 1440, 900) as watched:
        yield watched


async def _sign_in(page: Page, base: str, email: str, password: str) -> dict[str, str]:
    await sign_in_through_ui(page, base, email, password)
    tokens = json.loads(await page.evaluate("localStorage.getItem('spatialviz.tokens')"))
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def _click_ndc(page: Page, ndc: list[float]) -> None:
    box = await page.get_by_test_id("viewer-canvas").bounding_box()
    assert box is not None
    x = box["x"] + (ndc[0] + 1) / 2 * box["width"]
    y = box["y"] + (1 - ndc[1]) / 2 * box["height"]
    await page.mouse.click(x, y)


# Resolves after the viewer has drawn two more frames (its loop runs on animation frames).
_TWO_FRAMES = "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"


def _drawn_pixels(png: bytes, tolerance: float = 30.0) -> int:
    """Pixels clearly not the viewer's background (#111318)."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32).reshape(-1, 3)
    background = np.array([0x11, 0x13, 0x18], dtype=np.float32)
    return int((np.linalg.norm(pixels - background, axis=1) > tolerance).sum())


async def _tools(page: Page) -> dict[str, Any]:
    tools: dict[str, Any] = await page.evaluate("window.__spatialviz.tools")
    return tools


async def test_measure_clip_and_profile_the_demo_lidar(
    watched_page: tuple[Page, list[str]], live_server: str, settings: Settings
) -> None:
    page, problems = watched_page
    demo = await run_demo(settings, points=POINTS)
    headers = await _sign_in(page, live_server, DEMO_EMAIL, demo.password)
    scene_id = demo.scenes["lidar"]["id"]
    await page.goto(f"{live_server}/scenes/{scene_id}")
    await wait_until(page, "window.__spatialviz.pointsDrawn > 0")
    await wait_until(page, "!window.__spatialviz.tilesLoading && !!window.__spatialviz.tools")
    await page.get_by_test_id("point-size").fill("4")
    await expect(page.get_by_test_id("tools-panel")).to_be_visible()

    # Two points far apart on screen, found before any tool takes the clicks.
    hits = await page.evaluate(_PROBE)
    assert len(hits) >= 2, hits
    first = hits[0]
    second = max(hits, key=lambda h: math.dist(h["point"].values(), first["point"].values()))
    assert second["rowId"] != first["rowId"]

    # Distance: click the two points, Enter finishes.
    await page.get_by_test_id("measure-distance").click()
    await expect(page.get_by_test_id("measure-distance")).to_have_attribute("aria-pressed", "true")
    await _click_ndc(page, first["ndc"])
    await wait_until(page, "window.__spatialviz.tools.measure.points === 1")
    await _click_ndc(page, second["ndc"])
    await wait_until(page, "window.__spatialviz.tools.measure.points === 2")
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("measure-item")).to_have_count(1)
    done = (await _tools(page))["measure"]["done"][0]
    assert done["kind"] == "distance"
    rows = done["rows"]
    assert None not in rows, rows
    assert len(set(rows)) == 2, rows
    picked = await _exact_rows(live_server, scene_id, headers, rows)
    expected = math.dist(*([r["x"], r["y"], r["z"]] for r in picked))
    assert expected > 1.0
    assert done["value"] == pytest.approx(expected, abs=1e-6)
    shown = await page.get_by_test_id("measure-item").get_attribute("data-value")
    assert float(shown or "nan") == pytest.approx(expected, abs=1e-6)
    await expect(page.get_by_test_id("measure-item")).to_contain_text(f"{expected:,.3f} m")

    # Esc cancels a measurement being placed; a finished one is removable.
    await page.get_by_test_id("measure-height").click()
    await _click_ndc(page, first["ndc"])
    await wait_until(page, "window.__spatialviz.tools.measure.points === 1")
    await page.keyboard.press("Escape")
    await wait_until(page, "window.__spatialviz.tools.measure.placing === null")
    await expect(page.get_by_test_id("measure-item")).to_have_count(1)
    if shots := os.environ.get("SPATIALVIZ_E2E_SHOTS"):
        await page.screenshot(path=os.path.join(shots, "viewer-tools-measure.png"))
    await page.get_by_test_id("measure-remove").click()
    await expect(page.get_by_test_id("measure-item")).to_have_count(0)

    # Clip box: showing the inside draws fewer pixels and keeps fewer points; inside and
    # outside split the loaded points; with every point loaded, the kept count is the
    # server's count for the same box.
    canvas = page.get_by_test_id("viewer-canvas")
    await page.mouse.move(0, 0)  # no hover over the canvas in the screenshots
    before = _drawn_pixels(await canvas.screenshot())
    clip = (await _tools(page))["clip"]
    assert clip["mode"] == "off"
    assert clip["kept"] == clip["drawn"] > 0
    await page.get_by_test_id("clip-mode-inside").check()
    await wait_until(page, "window.__spatialviz.tools.clip.mode === 'inside'")
    inside = (await _tools(page))["clip"]
    assert 0 < inside["kept"] < inside["drawn"], inside
    await page.wait_for_timeout(300)  # a frame or two with the new uniforms
    clipped = _drawn_pixels(await canvas.screenshot())
    assert clipped < before * 0.9, (clipped, before)
    if shots:
        await page.screenshot(path=os.path.join(shots, "viewer-tools-clip.png"))
    # Eye-dome lighting (its own render pass) and another point-size shader variant must not
    # undo the clip: it wraps the point material's compile hook and the scene's before-render.
    await page.get_by_test_id("edl-toggle").check()
    await wait_until(page, "window.__spatialviz.viewTools.edl === true")
    await page.get_by_test_id("size-mode").select_option("attenuated")
    await wait_until(page, "window.__spatialviz.viewTools.sizeMode === 'attenuated'")
    await page.evaluate(_TWO_FRAMES)
    shaded_clipped = _drawn_pixels(await canvas.screenshot())
    await page.get_by_test_id("clip-mode-off").check()
    await wait_until(page, "window.__spatialviz.tools.clip.mode === 'off'")
    await page.evaluate(_TWO_FRAMES)
    shaded_all = _drawn_pixels(await canvas.screenshot())
    assert shaded_clipped < shaded_all * 0.9, (shaded_clipped, shaded_all)
    await page.get_by_test_id("size-mode").select_option("fixed")
    await page.get_by_test_id("edl-toggle").uncheck()
    await wait_until(page, "window.__spatialviz.viewTools.edl === false")
    await page.get_by_test_id("clip-mode-outside").check()
    await wait_until(page, "window.__spatialviz.tools.clip.mode === 'outside'")
    outside = (await _tools(page))["clip"]
    assert outside["kept"] + inside["kept"] == inside["drawn"]
    if inside["drawn"] == POINTS:
        offset = await page.evaluate("window.__spatialviz.tools.datasetOffset")
        lo = [v + o for v, o in zip(inside["min"], offset, strict=True)]
        hi = [v + o for v, o in zip(inside["max"], offset, strict=True)]
        async with httpx.AsyncClient(base_url=live_server, timeout=120) as client:
            answer = await client.post(
                f"/api/v1/scenes/{scene_id}/query",
                headers=headers,
                json={"kind": "box", "min": lo, "max": hi},
            )
        assert answer.status_code == 200, answer.text
        assert answer.json()["count"] == inside["kept"]
    # A clipping plane on top of the box keeps no more than the box did.
    await page.get_by_test_id("clip-add-plane").click()
    await wait_until(page, "window.__spatialviz.tools.clip.planes === 1")
    assert (await _tools(page))["clip"]["kept"] <= outside["kept"]
    await page.get_by_test_id("clip-mode-off").check()
    await page.get_by_test_id("clip-plane-remove").click()
    await wait_until(page, "window.__spatialviz.tools.clip.planes === 0")
    restored = (await _tools(page))["clip"]
    assert restored["kept"] == restored["drawn"]

    # Height profile along the line between the two points: it has points, plotted.
    await page.get_by_test_id("profile-draw").click()
    await _click_ndc(page, first["ndc"])
    await _click_ndc(page, second["ndc"])
    await wait_until(page, "window.__spatialviz.tools.profile.placing === true")
    await page.get_by_test_id("viewer-canvas").focus()
    await page.keyboard.press("Enter")
    await wait_until(page, "window.__spatialviz.tools.profile.samples > 0")
    profile = (await _tools(page))["profile"]
    assert profile["length"] > 1.0
    assert profile["width"] > 0
    await expect(page.get_by_test_id("profile-chart")).to_be_visible()
    count = await page.get_by_test_id("profile-count").inner_text()
    assert int(count.replace(",", "")) == profile["samples"]
    # Heights are the dataset's own elevations (the tiles are re-centred; the plot is not).
    async with httpx.AsyncClient(base_url=live_server, timeout=120) as client:
        everything = {"kind": "box", "min": [-1e9] * 3, "max": [1e9] * 3}
        answer = await client.post(
            f"/api/v1/scenes/{scene_id}/query", headers=headers, json=everything
        )
    z = answer.json()["stats"]["z"]
    low, high = profile["heights"]
    assert z["min"] - 1e-3 <= low < high <= z["max"] + 1e-3, (profile, z)
    if shots:
        await page.get_by_test_id("profile-result").screenshot(
            path=os.path.join(shots, "viewer-tools-profile.png")
        )

    assert problems == [], problems


def _aim(origin: list[float], target: list[float]) -> list[float]:
    """The quaternion (x, y, z, w) turning a controller's ray (-z) from origin to target."""
    d = np.array(target) - np.array(origin)
    d /= np.linalg.norm(d)
    forward = np.array([0.0, 0.0, -1.0])
    axis = np.cross(forward, d)
    q = np.array([*axis, 1.0 + float(forward @ d)])
    return [float(v) for v in q / np.linalg.norm(q)]


_HAND = [0.25, 1.3, -0.2]


async def _press(page: Page, button: str) -> None:
    """Presses and releases a right-controller button across a few XR frames."""
    press = "([b, v]) => window.__spatialvizXRDevice.controllers.right.updateButtonValue(b, v)"
    frames = await page.evaluate("window.__spatialviz.xr.frames")
    await page.evaluate(press, [button, 1])
    await wait_until(page, f"window.__spatialviz.xr.frames > {frames + 3}")
    await page.evaluate(press, [button, 0])
    await wait_until(page, f"window.__spatialviz.xr.frames > {frames + 6}")


async def _vr_select(page: Page, point: dict[str, float]) -> None:
    """Aims the right controller at a tileset-frame point and pulls the trigger."""
    world = await page.evaluate("p => window.__spatialviz.actions.toolsWorldOf(p)", point)
    await page.evaluate(
        """([hand, q]) => {
            const right = window.__spatialvizXRDevice.controllers.right;
            right.position.set(...hand);
            right.quaternion.set(...q);
        }""",
        [_HAND, _aim(_HAND, world)],
    )
    frames = await page.evaluate("window.__spatialviz.xr.frames")
    await wait_until(page, f"window.__spatialviz.xr.frames > {frames + 3}")
    # The trigger picks whatever drawn point is under the ray then. On a busy machine slow
    # frames lower the point budget and coarser tiles replace the finer ones, so the point
    # aimed at may not be drawn yet (or any more): press once a point is under the ray,
    # else the press picks nothing and the test waits for a point that never comes.
    await wait_until(page, "window.__spatialviz.actions.aimedAt('right') !== null")
    await _press(page, "trigger")


async def _enter_vr(page: Page, live_server: str, scene_id: str, kind: str) -> list[dict[str, Any]]:
    """Opens the scene under the IWER emulator, chooses a measurement and enters VR; the
    picks found before."""
    await page.goto(f"{live_server}/scenes/{scene_id}?xr-emulator=1")
    await wait_until(page, "window.__spatialviz.pointsDrawn > 0")
    await wait_until(page, "!window.__spatialviz.tilesLoading && !!window.__spatialviz.tools")
    hits: list[dict[str, Any]] = await page.evaluate(_PROBE)
    assert len(hits) >= 4, hits
    await page.get_by_test_id(f"measure-{kind}").click()
    await wait_until(page, "window.__spatialviz.xr.supported === true")
    await page.get_by_test_id("enter-vr").click()
    await wait_until(page, "window.__spatialviz.xr.session === 'active'")
    await wait_until(page, "window.__spatialviz.xr.frames > 10")
    return hits


async def _exact_rows(
    live_server: str, scene_id: str, headers: dict[str, str], rows: list[int]
) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=live_server, timeout=120) as client:
        picked = []
        for row in rows:
            query = {"kind": "pick", "row": row}
            answer = await client.post(
                f"/api/v1/scenes/{scene_id}/query", headers=headers, json=query
            )
            assert answer.status_code == 200, answer.text
            picked.append(answer.json()["row"])
    return picked


async def test_vr_distance_and_area_finish_by_controller(
    watched_page: tuple[Page, list[str]], live_server: str, settings: Settings
) -> None:
    """Under the IWER headset emulator, nothing pressed on the page: a distance placed with
    two trigger presses ends with the A button (B takes back a point first), and an area ends
    when its first corner is selected again. The values are those of the rows the server
    returns for the picked points."""
    page, problems = watched_page
    demo = await run_demo(settings, points=POINTS)
    headers = await _sign_in(page, live_server, DEMO_EMAIL, demo.password)
    scene_id = demo.scenes["lidar"]["id"]
    hits = await _enter_vr(page, live_server, scene_id, "distance")
    a = hits[0]
    b = max(hits, key=lambda h: math.dist(h["point"].values(), a["point"].values()))
    c = max(
        hits,
        key=lambda h: min(
            math.dist(h["point"].values(), a["point"].values()),
            math.dist(h["point"].values(), b["point"].values()),
        ),
    )

    # Distance: a, c (taken back with B), b, then A finishes.
    await _vr_select(page, a["point"])
    await wait_until(page, "window.__spatialviz.tools.measure.points === 1")
    await _vr_select(page, c["point"])
    await wait_until(page, "window.__spatialviz.tools.measure.points === 2")
    await _press(page, "b-button")
    await wait_until(page, "window.__spatialviz.tools.measure.points === 1")
    await _vr_select(page, b["point"])
    await wait_until(page, "window.__spatialviz.tools.measure.points === 2")
    assert (await _tools(page))["measure"]["placing"] == "distance"
    await _press(page, "a-button")
    await wait_until(page, "window.__spatialviz.tools.measure.done.length === 1")
    line = (await _tools(page))["measure"]["done"][0]
    assert line["kind"] == "distance"
    assert line["rows"] == [a["rowId"], b["rowId"]]
    ends = await _exact_rows(live_server, scene_id, headers, line["rows"])
    expected = math.dist(*([r["x"], r["y"], r["z"]] for r in ends))
    assert line["value"] == pytest.approx(expected, abs=1e-6)

    # Area: the kinds are chosen on the page (out of VR); a, b, c, then a again closes it.
    await page.evaluate("window.__spatialviz.actions.enterVR()")
    await wait_until(page, "window.__spatialviz.xr.session === 'ended'")
    await page.get_by_test_id("measure-area").click()
    frames = await page.evaluate("window.__spatialviz.xr.frames")
    await page.get_by_test_id("enter-vr").click()
    await wait_until(page, "window.__spatialviz.xr.session === 'active'")
    await wait_until(page, f"window.__spatialviz.xr.frames > {frames + 10}")
    for placed, corner in enumerate([a, b, c], start=1):
        await _vr_select(page, corner["point"])
        await wait_until(page, f"window.__spatialviz.tools.measure.points === {placed}")
    await _vr_select(page, a["point"])
    await wait_until(page, "window.__spatialviz.tools.measure.done.length === 2")
    polygon = (await _tools(page))["measure"]["done"][1]
    assert polygon["kind"] == "area"
    # a and b snap to the distance's ends (the same exact points, shared corners: no row).
    assert polygon["rows"] == [None, None, c["rowId"]]
    assert polygon["points"][:2] == line["points"]
    corners = await _exact_rows(live_server, scene_id, headers, [*line["rows"], c["rowId"]])
    (x0, y0), (x1, y1), (x2, y2) = ((r["x"], r["y"]) for r in corners)
    shoelace = abs((x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)) / 2
    assert shoelace > 0.1
    assert polygon["value"] == pytest.approx(shoelace, rel=1e-6)
    assert problems == [], problems


async def test_a_height_measured_by_pointing_in_vr(
    watched_page: tuple[Page, list[str]], live_server: str, settings: Settings
) -> None:
    """Under the IWER headset emulator: the height tool chosen, two trigger presses with the
    right controller aimed at two points measure their height difference, which is the
    difference of the rows' z the server returns."""
    page, problems = watched_page
    demo = await run_demo(settings, points=POINTS)
    headers = await _sign_in(page, live_server, DEMO_EMAIL, demo.password)
    scene_id = demo.scenes["lidar"]["id"]
    await page.goto(f"{live_server}/scenes/{scene_id}?xr-emulator=1")
    await wait_until(page, "window.__spatialviz.pointsDrawn > 0")
    await wait_until(page, "!window.__spatialviz.tilesLoading && !!window.__spatialviz.tools")
    hits = await page.evaluate(_PROBE)
    assert len(hits) >= 2, hits
    low = min(hits, key=lambda h: h["point"]["z"])
    high = max(hits, key=lambda h: h["point"]["z"])
    assert high["point"]["z"] - low["point"]["z"] > 1.0

    await page.get_by_test_id("measure-height").click()
    await wait_until(page, "window.__spatialviz.xr.supported === true")
    await page.get_by_test_id("enter-vr").click()
    await wait_until(page, "window.__spatialviz.xr.session === 'active'")
    await wait_until(page, "window.__spatialviz.xr.frames > 10")

    for placed, target in enumerate([low, high], start=1):
        await _vr_select(page, target["point"])
        if placed == 1:
            await wait_until(page, "window.__spatialviz.tools.measure.points === 1")
    await wait_until(page, "window.__spatialviz.tools.measure.done.length === 1")
    done = (await _tools(page))["measure"]["done"][0]
    assert done["kind"] == "height"
    assert done["rows"] == [low["rowId"], high["rowId"]]
    async with httpx.AsyncClient(base_url=live_server, timeout=120) as client:
        z = []
        for row in done["rows"]:
            query = {"kind": "pick", "row": row}
            answer = await client.post(
                f"/api/v1/scenes/{scene_id}/query", headers=headers, json=query
            )
            assert answer.status_code == 200, answer.text
            z.append(answer.json()["row"]["z"])
    assert done["value"] == pytest.approx(z[1] - z[0], abs=1e-6)
    assert problems == [], problems


async def test_a_georeferenced_scene_measures_in_east_north_up_metres(
    watched_page: tuple[Page, list[str]], live_server: str, tmp_path: Path
) -> None:
    """A LAS in UTM metres is tiled east-north-up under an ECEF root transform: a height
    measured between two clicked points is the difference of the rows' z (up to the Earth's
    curvature over the scene: under 1 cm for 250 m from the centre), and the clip box is
    upright in that frame (it keeps some points and drops others)."""
    page, problems = watched_page
    email = "viewer.tools.georef@example.com"
    _, headers, scene = await ready_utm_las_scene(page, live_server, email, tmp_path)
    await page.goto(f"{live_server}/scenes/{scene['id']}")
    await wait_until(page, "window.__spatialviz.pointsDrawn > 0")
    await wait_until(page, "!window.__spatialviz.tilesLoading && !!window.__spatialviz.tools")
    # No shift turns these tiles into UTM: measuring uses the drawn (ENU) points.
    assert (await _tools(page))["datasetOffset"] is None
    await page.get_by_test_id("point-size").fill("4")
    hits = await page.evaluate(_PROBE)
    assert len(hits) >= 2, hits
    # In ENU the tileset frame's z is not up (ECEF): order by the rows' own z instead.
    async with httpx.AsyncClient(base_url=live_server, timeout=120) as client:
        for hit in hits:
            query = {"kind": "pick", "row": hit["rowId"]}
            answer = await client.post(
                f"/api/v1/scenes/{scene['id']}/query", headers=headers, json=query
            )
            assert answer.status_code == 200, answer.text
            hit["row"] = answer.json()["row"]
    low = min(hits, key=lambda h: h["row"]["z"])
    high = max(hits, key=lambda h: h["row"]["z"])
    assert high["row"]["z"] - low["row"]["z"] > 2.0

    await page.get_by_test_id("measure-height").click()
    await _click_ndc(page, low["ndc"])
    await wait_until(page, "window.__spatialviz.tools.measure.points === 1")
    await _click_ndc(page, high["ndc"])
    await wait_until(page, "window.__spatialviz.tools.measure.done.length === 1")
    done = (await _tools(page))["measure"]["done"][0]
    assert done["rows"] == [low["rowId"], high["rowId"]]
    assert done["value"] == pytest.approx(high["row"]["z"] - low["row"]["z"], abs=0.01)
    await expect(page.get_by_test_id("measure-item")).to_contain_text(" m")

    await page.get_by_test_id("clip-mode-inside").check()
    await wait_until(page, "window.__spatialviz.tools.clip.mode === 'inside'")
    inside = (await _tools(page))["clip"]
    assert 0 < inside["kept"] < inside["drawn"], inside
    # Upright: the box's z range is the middle half of the heights (about 5 m of 22), not a
    # slab of ECEF.
    assert inside["max"][2] - inside["min"][2] < 20
    assert problems == [], problems
