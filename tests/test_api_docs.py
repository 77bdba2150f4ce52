"""/docs serves Swagger UI from our own assets: nothing it loads comes from another host, so
the docs work offline and under a CSP that names only 'self'."""

from __future__ import annotations

import os
import re

import httpx
import pytest

from spatialviz.web import STATIC_DIR

BUILT = (STATIC_DIR / "docs" / "swagger-ui-bundle.js").is_file()
REQUIRED = os.environ.get("SPATIALVIZ_REQUIRE_BROWSER") == "1"


@pytest.fixture
def built() -> None:
    if not BUILT:
        if REQUIRED:
            pytest.fail("the web client is not built (make web)")
        pytest.skip("the web client is not built (make web)")


async def test_docs_load_only_same_origin_assets(client: httpx.AsyncClient, built: None) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls, page.text
    assert all(url.startswith("/docs/") for url in urls), urls
    csp = page.headers["content-security-policy"]
    assert "http" not in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000 or url.endswith("init.js"), url
    script = await client.get("/docs/init.js")
    assert '"/openapi.json"' in script.text
    assert script.headers["content-type"].startswith("text/javascript")


async def test_docs_serve_only_the_listed_assets(client: httpx.AsyncClient, built: None) -> None:
    for name in ("index.html", "swagger-ui.js.map", "..%2Fdocs%2Fswagger-ui.css", "nope"):
        response = await client.get(f"/docs/{name}")
        assert response.status_code == 404, name
        assert response.headers["content-type"] == "application/problem+json"


async def test_unbuilt_docs_point_at_the_document() -> None:
    """Without the web build, /docs still answers, naming /openapi.json."""
    from fastapi import FastAPI

    from spatialviz.api_docs import install_api_docs

    app = FastAPI()
    install_api_docs(app, STATIC_DIR / "no-such-build")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as bare:
        page = await bare.get("/docs")
    assert page.status_code == 200
    assert "/openapi.json" in page.text
