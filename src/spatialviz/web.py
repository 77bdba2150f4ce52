"""Serves the built web client (web/ → `npm run build` → static/) from the API process.

index.html answers at / and at the client's own routes (so a reload of /scenes/{id} or a
share link works); hashed bundles under /assets are immutable and cached for a year. Each
file goes out as the build compressed it (brotli or gzip, per Accept-Encoding;
kit/precompressed.py), since `spatialviz serve` has no nginx to compress it. The
client routes are listed explicitly rather than caught with a wildcard, so the API, the
operations endpoints and anything mounted later can never be shadowed by the fallback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from spatialviz.kit.precompressed import is_sibling_name, precompressed_file

# Top-level path segments the client's router owns (web/src/router.ts keeps the same list).
CLIENT_ROUTES: tuple[str, ...] = ("login", "register", "datasets", "scenes", "upload")
# Never answered with index.html, whatever CLIENT_ROUTES says.
RESERVED_PREFIXES: tuple[str, ...] = (
    "api",
    "livez",
    "readyz",
    "metrics",
    "docs",
    "openapi.json",
)
# Where `npm run build` in web/ writes the client (gitignored except .gitkeep).
STATIC_DIR = Path(__file__).parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Top-level files Vite copies from web/public/ (served with a short cache).
ROOT_FILES: tuple[str, ...] = ("favicon.svg", "robots.txt")

NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Spatialviz</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto;">
<h1>Spatialviz</h1>
<p>The API is running, but the web client is not built.</p>
<p><code>make run</code> builds it when Node.js (20.19 or newer) is installed; by hand:
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then reload this page.</p>
<p>The API is documented at <a href="/docs">/docs</a>.</p>
</body></html>
"""


def mount_web_client(app: FastAPI, static_dir: Path) -> None:
    """Adds / , the client routes and /assets to `app`. Call it after every API router."""
    static_dir = static_dir.resolve()
    assets_dir = static_dir / "assets"

    def index(request: Request) -> Response:
        page = static_dir / "index.html"
        if not page.is_file():
            return HTMLResponse(NOT_BUILT_PAGE, headers={"Cache-Control": REVALIDATE})
        return precompressed_file(
            request.headers, page, {"Cache-Control": REVALIDATE}, media_type="text/html"
        )

    async def page(request: Request) -> Response:
        # The client's own routes: the rest of the path is the client's to read.
        return index(request)

    async def asset(request: Request, name: str) -> Response:
        path = None if is_sibling_name(name) else _inside(assets_dir, name)
        if path is None:
            raise HTTPException(status_code=404, detail="No such asset")
        return precompressed_file(request.headers, path, {"Cache-Control": IMMUTABLE})

    def root_file(name: str) -> Callable[[Request], Awaitable[Response]]:
        async def serve(request: Request) -> Response:
            path = _inside(static_dir, name)
            if path is None:
                raise HTTPException(status_code=404, detail=f"No {name}")
            return precompressed_file(
                request.headers, path, {"Cache-Control": "public, max-age=3600"}
            )

        return serve

    methods = ["GET", "HEAD"]
    app.add_api_route("/", page, methods=methods, include_in_schema=False)
    _add_client_routes(app, page, methods)
    app.add_api_route("/assets/{name:path}", asset, methods=methods, include_in_schema=False)
    for name in ROOT_FILES:
        app.add_api_route(f"/{name}", root_file(name), methods=methods, include_in_schema=False)


def _add_client_routes(
    app: FastAPI, page: Callable[[Request], Awaitable[Response]], methods: list[str]
) -> None:
    for section in CLIENT_ROUTES:
        if section in RESERVED_PREFIXES:  # pragma: no cover - guarded by a test
            continue
        app.add_api_route(f"/{section}", page, methods=methods, include_in_schema=False)
        app.add_api_route(
            f"/{section}/{{rest:path}}", page, methods=methods, include_in_schema=False
        )


def _inside(base: Path, name: str) -> Path | None:
    """The file `name` under `base`, or None when missing or when it would escape `base`."""
    try:
        path = (base / name).resolve()
    except (OSError, ValueError):
        return None
    if not path.is_relative_to(base) or not path.is_file():
        return None
    return path
