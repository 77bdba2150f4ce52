"""Security headers on every response (errors included) and CORS from the allow-list."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from spatialviz.app import create_app
from spatialviz.config import Settings


async def test_headers_on_success_and_error(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/livez"), await client.get("/api/v1/me")):
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
        csp = headers["content-security-policy"]
        for directive in (
            "script-src 'self' 'wasm-unsafe-eval'",
            "worker-src 'self' blob:",
            "img-src 'self' data: blob:",
            "connect-src 'self' ws: wss:",
            "frame-ancestors 'none'",
        ):
            assert directive in csp
        assert "'unsafe-eval'" not in csp.replace("'wasm-unsafe-eval'", "")
        assert "strict-transport-security" not in headers  # plain HTTP


async def test_hsts_only_over_tls(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        response = await c.get("/livez")
    assert response.headers["strict-transport-security"].startswith("max-age=")


@pytest.fixture
async def cors_app(settings: Settings) -> AsyncIterator[FastAPI]:
    configured = Settings(**{**settings.model_dump(), "cors_origins": ["https://viz.example"]})
    application = create_app(configured)
    async with application.router.lifespan_context(application):
        yield application


async def test_cors_allow_list(cors_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=cors_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        allowed = await c.options(
            "/api/v1/me",
            headers={
                "Origin": "https://viz.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "Authorization",
            },
        )
        denied = await c.get("/livez", headers={"Origin": "https://evil.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://viz.example"
    assert "access-control-allow-origin" not in denied.headers
