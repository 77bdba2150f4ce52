"""Streaming cost of the web client: bytes a full view of a scene moves (issue 17).

Against a running server (e.g. after ``spatialviz demo``; ``spatialviz serve``), signs in,
opens the scene page in Debian's headless Chromium (1440x900) and waits until the viewer has
nothing left to load and the drawn point count has settled. Every response is counted from
the Chrome DevTools Protocol (``Network.loadingFinished.encodedDataLength``: bytes on the
wire, headers included). Prints JSON: bytes and requests in total and for tiles, points
drawn, bytes per drawn point, and the JavaScript the page had loaded when it drew its first
frame with points (issue 17's "JS shipped before the first frame"): each script the
Resource Timing API lists as finished by then, gzip-compressed here (level 9, the size an
nginx/CDN serving the assets compressed sends) so the figure does not depend on how this
server compresses; WebAssembly is counted apart.

``--cold`` measures a first visit instead: a fresh browser (empty cache) opens the scene
page straight away, as a share link or a bookmark does, so the client's HTML, JS, CSS and
WebAssembly count too. Either way the bytes are split into the client's own files
(``bytes_client``: everything outside /api/), API responses other than tiles
(``bytes_api``) and tiles; ``content_encodings`` counts responses by Content-Encoding.

    PYTHONPATH=src python -m bench.client --base http://127.0.0.1:8000 \\
        --email demo@spatialviz.local --password '...' --scene-name 'Demo: LiDAR town' [--cold]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import time
from collections import Counter
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


# Stamps the page time of the first animation frame with points drawn (the viewer's debug
# surface, window.__spatialviz, counts them), so scripts fetched later (lazy chunks) are not
# counted as shipped before it.
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

LOADED_BY_FIRST_FRAME = """
() => performance.getEntriesByType('resource')
  .filter((e) => e.responseEnd <= window.__firstFrameAt)
  .map((e) => e.name)
"""


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
    base: str,
    tokens: dict[str, Any],
    scene_id: str,
    settle_s: float,
    recolour: str | None = None,
    cold: bool = False,
) -> dict[str, Any]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1440, "height": 900})
        await context.add_init_script(FIRST_FRAME_PROBE)
        page = await context.new_page()
        if cold:  # signed in before the first byte, so the scene page is the first load
            await context.add_init_script(
                f"localStorage.setItem('spatialviz.tokens', {json.dumps(json.dumps(tokens))})"
            )
        else:
            await page.goto(f"{base}/")
            await page.evaluate(
                "t => localStorage.setItem('spatialviz.tokens', t)", json.dumps(tokens)
            )
        cdp = await context.new_cdp_session(page)
        await cdp.send("Network.enable")
        urls: dict[str, str] = {}
        sizes: dict[str, int] = {}
        encodings: dict[str, str] = {}

        def sent(e: dict[str, Any]) -> None:
            urls[e["requestId"]] = e["request"]["url"]

        def received(e: dict[str, Any]) -> None:
            headers = {k.lower(): v for k, v in e["response"].get("headers", {}).items()}
            encodings[e["requestId"]] = headers.get("content-encoding", "identity")

        def finished(e: dict[str, Any]) -> None:
            sizes[e["requestId"]] = int(e["encodedDataLength"])

        cdp.on("Network.requestWillBeSent", sent)
        cdp.on("Network.responseReceived", received)
        cdp.on("Network.loadingFinished", finished)
        started = time.monotonic()
        await page.goto(f"{base}/scenes/{scene_id}")
        first_points = None
        quiet = Quiet(settle_s)
        while time.monotonic() - started < 300:
            state = await page.evaluate(
                "() => { const d = window.__spatialviz;"
                " return d ? [d.pointsDrawn, d.tilesLoaded, d.tilesLoading] : [0, 0, true]; }"
            )
            drawn, tiles, loading = state
            if drawn > 0 and first_points is None:
                first_points = time.monotonic() - started
            if quiet.settled((drawn, len(sizes)), ready=drawn > 0 and not loading):
                break
            await asyncio.sleep(0.25)
        loaded_first: list[str] = []
        if first_points is not None:
            loaded_first = await page.evaluate(LOADED_BY_FIRST_FRAME)
        settled = set(sizes)
        if recolour is not None:
            await _recolour(page, recolour, sizes, settle_s)
        await browser.close()
    first_frame_code = _first_frame_code(base, loaded_first)
    after = {r: n for r, n in sizes.items() if r not in settled}
    sizes = {r: n for r, n in sizes.items() if r in settled}
    tile_ids = [r for r in sizes if "/tiles/" in urls.get(r, "")]
    total = sum(sizes.values())
    tile_bytes = sum(sizes[r] for r in tile_ids)
    sidecars = [r for r in sizes if urls.get(r, "").split("?")[0].endswith(".attrs.glb")]
    recoloured = _recolour_figures(recolour, after, urls)
    api_ids = [r for r in sizes if "/api/" in urls.get(r, "") and r not in tile_ids]
    api_bytes = sum(sizes[r] for r in api_ids)
    counted = Counter(encodings.get(r, "identity") for r in sizes)
    return {
        "scene_id": scene_id,
        "viewport": [1440, 900],
        "cold": cold,
        "bytes_total": total,
        "requests_total": len(sizes),
        "bytes_tiles": tile_bytes,
        "requests_tiles": len(tile_ids),
        "bytes_client": total - tile_bytes - api_bytes,
        "requests_client": len(sizes) - len(tile_ids) - len(api_ids),
        "bytes_api": api_bytes,
        "requests_api": len(api_ids),
        "content_encodings": dict(sorted(counted.items())),
        "points_drawn": drawn,
        "tiles_loaded": tiles,
        "bytes_tiles_per_point": round(tile_bytes / drawn, 2) if drawn else None,
        "sidecar_requests": len(sidecars),
        "seconds_to_first_points": round(first_points, 2) if first_points else None,
        **first_frame_code,
        **recoloured,
    }


def _recolour_figures(
    recolour: str | None, after: dict[str, int], urls: dict[str, str]
) -> dict[str, Any]:
    """What colouring by a column the tiles leave out fetched: the tiles' sidecars."""
    if recolour is None:
        return {}
    return {
        "recolour_by": recolour,
        "recolour_bytes": sum(after.values()),
        "recolour_requests": len(after),
        "recolour_sidecar_requests": sum(
            1 for r in after if urls.get(r, "").split("?")[0].endswith(".attrs.glb")
        ),
    }


class Quiet:
    """Whether a polled state has stayed the same (and ready) for ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.last: tuple[int, int] | None = None
        self.since: float | None = None

    def settled(self, now: tuple[int, int], ready: bool = True) -> bool:
        if ready and now == self.last:
            self.since = self.since or time.monotonic()
        else:
            self.since = None
        self.last = now
        return self.since is not None and time.monotonic() - self.since >= self.seconds


async def _recolour(page: Any, column: str, sizes: dict[str, int], settle_s: float) -> None:
    """Colour by ``column`` in the scene page, then wait until no response has arrived for
    ``settle_s`` seconds and no sidecar is on its way."""
    await page.get_by_test_id("color-by").select_option(column)
    started = time.monotonic()
    quiet = Quiet(settle_s)
    while time.monotonic() - started < 120:
        state = await page.evaluate(
            "() => { const d = window.__spatialviz; return d.sidecars ? d.sidecars.fetched : 0; }"
        )
        if quiet.settled((state, len(sizes))):
            return
        await asyncio.sleep(0.25)


def _first_frame_code(base: str, urls: list[str]) -> dict[str, Any]:
    """Gzip bytes of the JavaScript (and raw/gzip bytes of the WebAssembly) in ``urls``."""
    scripts: dict[str, int] = {}
    wasm = 0
    for url in sorted(set(urls)):
        path = url.split("?")[0]
        if not url.startswith(base) or not path.endswith((".js", ".mjs", ".wasm")):
            continue
        body = httpx.get(url, timeout=30).content
        if path.endswith(".wasm"):
            wasm += len(gzip.compress(body, compresslevel=9))
        else:
            scripts[path.rsplit("/", 1)[-1]] = len(gzip.compress(body, compresslevel=9))
    return {
        "js_before_first_frame_gzip": sum(scripts.values()),
        "js_before_first_frame_files": scripts,
        "wasm_before_first_frame_gzip": wasm,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--email", default="demo@spatialviz.local")
    parser.add_argument("--password", required=True)
    parser.add_argument("--scene-name", default="Demo: LiDAR town")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds with nothing new")
    parser.add_argument(
        "--recolour",
        metavar="COLUMN",
        help="after the view settles, colour by COLUMN and count what that fetched",
    )
    parser.add_argument("--cold", action="store_true", help="a first visit: empty cache")
    args = parser.parse_args()
    tokens = _tokens(args.base, args.email, args.password)
    scene_id = _scene_id(args.base, tokens["access_token"], args.scene_name)
    result = asyncio.run(
        measure(args.base, tokens, scene_id, args.settle, args.recolour, args.cold)
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
