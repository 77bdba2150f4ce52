"""The interactive API docs at /docs: Swagger UI from our own assets, never a CDN, so the
docs work offline and under a Content-Security-Policy that names only 'self'.

`npm run build` in web/ copies Swagger UI (the swagger-ui-dist package, pinned by
web/package-lock.json) to static/docs/; the page and its initialiser are served from here,
the assets as the build compressed them (kit/precompressed.py: the bundle is 1.4 MB plain).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from spatialviz.kit.precompressed import precompressed_file

DOCS_URL = "/docs"
# The files the web build copies (web/vite.config.ts lists the same).
ASSETS = frozenset(
    {
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "oauth2-redirect.html",
        "oauth2-redirect.js",
        "LICENSE",
        "NOTICE",
    }
)
CACHE = "public, max-age=3600"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - API docs</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{docs}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{docs}/swagger-ui-bundle.js"></script>
<script src="{docs}/init.js"></script>
</body></html>
"""

# An external script rather than an inline one, so the page's CSP needs no 'unsafe-inline'.
INITIALISER = """window.ui = SwaggerUIBundle({{
  url: "{openapi}",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  oauth2RedirectUrl: window.location.origin + "{docs}/oauth2-redirect.html",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
}});
"""

NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>API docs</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto;">
<h1>API docs</h1>
<p>The interactive docs are part of the web client build (<code>make web</code>).
The OpenAPI document itself is at <a href="{openapi}">{openapi}</a>.</p>
</body></html>
"""


def install_api_docs(app: FastAPI, static_dir: Path) -> None:
    """Adds /docs, /docs/init.js and the Swagger UI assets under /docs/."""
    assets_dir = static_dir.resolve() / "docs"
    openapi_url = app.openapi_url or "/openapi.json"

    async def page() -> HTMLResponse:
        if not (assets_dir / "swagger-ui-bundle.js").is_file():
            return HTMLResponse(NOT_BUILT_PAGE.format(openapi=openapi_url))
        return HTMLResponse(PAGE.format(title=app.title, docs=DOCS_URL))

    async def initialiser() -> Response:
        body = INITIALISER.format(openapi=openapi_url, docs=DOCS_URL)
        return Response(body, media_type="text/javascript", headers={"Cache-Control": CACHE})

    async def asset(request: Request, name: str) -> FileResponse:
        path = assets_dir / name
        if name not in ASSETS or not path.is_file():
            raise HTTPException(status_code=404)
        return precompressed_file(request.headers, path, {"Cache-Control": CACHE})

    app.add_api_route(DOCS_URL, page, methods=["GET"], include_in_schema=False)
    app.add_api_route(f"{DOCS_URL}/init.js", initialiser, methods=["GET"], include_in_schema=False)
    app.add_api_route(f"{DOCS_URL}/{{name}}", asset, methods=["GET"], include_in_schema=False)
