"""Streaming cost of the web client: bytes a full view of a scene moves (issue 17).

Against a running server (e.g. after ``spatialviz demo``; ``spatialviz serve``), signs in,
opens the scene page in Debian's headless Chromium (1440x900) and waits until the viewer has
nothing left to load and the drawn point count has settled. Every response is counted from
the Chrome DevTools Protocol (``Network.loadingFinished.encodedDataLength``: bytes on the
wire, headers included). Prints JSON: bytes and requests in total and for tiles, points
drawn, bytes per drawn point.

    PYTHONPATH=src python -m bench.client --base http://127.0.0.1:8000 \\
        --email demo@spatialviz.local --password '...' --scene-name 'Demo: LiDAR town'
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import httpx
from playwright.async_api import async_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-gl=angle",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
    "--disable-background-networking",
]


def _tokens(base: str, email: str, password: str) -> dict[str, Any]:
    response = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": email, "password": password}, timeout=30
    )
    response.raise_for_status()
    tokens: dict[str, Any] = response.json()
    return tokens


def _scene_id(base: str, token: str, name: str) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    page = httpx.get(f"{base}/api/v1/scenes", headers=headers, timeout=30).json()
    for scene in page["items"]:
        if scene["name"] == name:
            return str(scene["id"])
    raise SystemExit(f"no scene named {name!r}")


async def measure(
    base: str, tokens: dict[str, Any], scene_id: str, settle_s: float
) -> dict[str, Any]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1440, "height": 900})
        page = await context.new_page()
        await page.goto(f"{base}/")
        await page.evaluate("t => localStorage.setItem('spatialviz.tokens', t)", json.dumps(tokens))
        cdp = await context.new_cdp_session(page)
        await cdp.send("Network.enable")
        urls: dict[str, str] = {}
        sizes: dict[str, int] = {}

        def sent(e: dict[str, Any]) -> None:
            urls[e["requestId"]] = e["request"]["url"]

        def finished(e: dict[str, Any]) -> None:
            sizes[e["requestId"]] = int(e["encodedDataLength"])

        cdp.on("Network.requestWillBeSent", sent)
        cdp.on("Network.loadingFinished", finished)
        started = time.monotonic()
        await page.goto(f"{base}/scenes/{scene_id}")
        first_points = None
        stable_since = None
        last = (-1, -1)
        while time.monotonic() - started < 300:
            state = await page.evaluate(
                "() => { const d = window.__spatialviz;"
                " return d ? [d.pointsDrawn, d.tilesLoaded, d.tilesLoading] : [0, 0, true]; }"
            )
            drawn, tiles, loading = state
            if drawn > 0 and first_points is None:
                first_points = time.monotonic() - started
            now = (drawn, len(sizes))
            if drawn > 0 and not loading and now == last:
                stable_since = stable_since or time.monotonic()
                if time.monotonic() - stable_since >= settle_s:
                    break
            else:
                stable_since = None
            last = now
            await asyncio.sleep(0.25)
        await browser.close()
    tile_ids = [r for r in sizes if "/tiles/" in urls.get(r, "")]
    total = sum(sizes.values())
    tile_bytes = sum(sizes[r] for r in tile_ids)
    return {
        "scene_id": scene_id,
        "viewport": [1440, 900],
        "bytes_total": total,
        "requests_total": len(sizes),
        "bytes_tiles": tile_bytes,
        "requests_tiles": len(tile_ids),
        "points_drawn": drawn,
        "tiles_loaded": tiles,
        "bytes_tiles_per_point": round(tile_bytes / drawn, 2) if drawn else None,
        "seconds_to_first_points": round(first_points, 2) if first_points else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--email", default="demo@spatialviz.local")
    parser.add_argument("--password", required=True)
    parser.add_argument("--scene-name", default="Demo: LiDAR town")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds with nothing new")
    args = parser.parse_args()
    tokens = _tokens(args.base, args.email, args.password)
    scene_id = _scene_id(args.base, tokens["access_token"], args.scene_name)
    print(json.dumps(asyncio.run(measure(args.base, tokens, scene_id, args.settle)), indent=2))


if __name__ == "__main__":
    main()
