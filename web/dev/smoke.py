"""Drives the built client against dev/mock_api.py in headless Chromium: sign in, datasets list,
scene streaming, pick, box query, recolour, and a WebXR session under the IWER emulator.
Run: PYTHONPATH=src python web/dev/smoke.py [base_url] [screenshot_dir]"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8765"
OUT = Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp/spatialviz-smoke")
OUT.mkdir(parents=True, exist_ok=True)


def main() -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        logs: list[str] = []
        page.on("console", lambda m: logs.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: logs.append(f"pageerror: {e}"))
        page.goto(f"{BASE}/")
        page.wait_for_url("**/login**")
        page.get_by_test_id("auth-email").fill("a@b.c")
        page.get_by_test_id("auth-password").fill("secret-password")
        page.get_by_test_id("auth-submit").click()
        page.get_by_test_id("dataset-row").first.wait_for()
        page.screenshot(path=str(OUT / "home.png"))
        print("home ok:", page.get_by_test_id("dataset-status").first.inner_text())

        page.goto(f"{BASE}/scenes/s1?xr-emulator=1")
        page.wait_for_function("window.__spatialviz && window.__spatialviz.pointsDrawn > 0", timeout=30000)
        page.wait_for_timeout(1500)
        state = page.evaluate("({points: __spatialviz.pointsDrawn, tiles: __spatialviz.tilesLoaded, colorBy: __spatialviz.colorBy, xr: __spatialviz.xr})")
        print("scene:", state)
        page.screenshot(path=str(OUT / "scene.png"))

        hit = page.evaluate("(() => { for (let y = -0.3; y <= 0.3; y += 0.05) for (let x = -0.3; x <= 0.3; x += 0.05) { const h = __spatialviz.actions.pickAt(x, y); if (h) return h.rowId; } return null; })()")
        page.wait_for_function("__spatialviz.lastPickedRow !== null", timeout=5000)
        print("picked row id:", hit, page.evaluate("__spatialviz.lastPickedRow"))

        page.get_by_test_id("box-run").click()
        page.get_by_test_id("box-count").wait_for()
        print("box count:", page.get_by_test_id("box-count").inner_text())

        page.get_by_test_id("color-by").select_option("classification")
        page.wait_for_timeout(500)
        print("legend kind:", page.get_by_test_id("legend").get_attribute("data-kind"))
        page.screenshot(path=str(OUT / "scene-classification.png"))

        page.wait_for_function("__spatialviz.xr.supported !== null", timeout=5000)
        print("xr supported:", page.evaluate("__spatialviz.xr.supported"))
        page.get_by_test_id("enter-vr").click()
        page.wait_for_function("__spatialviz.xr.session === 'active'", timeout=10000)
        page.wait_for_timeout(1500)
        print("xr:", page.evaluate("__spatialviz.xr"), "points in VR:", page.evaluate("__spatialviz.pointsDrawn"))
        signed = [r for r in page.evaluate("fetch('/mock/requests').then(r => r.json())") if "tiles/0.glb" in r]
        print("tile requests signed:", all("sig=mocksig" in r for r in signed), len(signed))
        errors = [line for line in logs if line.startswith(("error", "pageerror"))]
        print("console errors:", errors[:10])
        browser.close()


if __name__ == "__main__":
    main()
