from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from spatialviz.app import create_app
from spatialviz.config import Settings
from spatialviz.kit.errors import PROBLEM_JSON


async def test_livez(client: httpx.AsyncClient) -> None:
    response = await client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_each_dependency(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["storage"] == "ok"
    assert ("redis" in checks) == (settings.redis_url is not None)


async def test_openapi_is_3_1(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    assert "503" in spec["paths"]["/readyz"]["get"]["responses"]


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/livez")
    await client.get("/no/such/path/12345")
    body = (await client.get("/metrics")).text
    assert 'spatialviz_http_requests_total{method="GET",route="/livez",status="200"}' in body
    assert "spatialviz_http_request_duration_seconds_bucket" in body
    # raw paths never become labels
    assert "12345" not in body


async def test_unknown_path_is_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == 404
    assert body["title"]
    assert body["type"]


async def test_wrong_method_is_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/livez")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_JSON


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    given = await client.get("/livez", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    generated = await client.get("/livez", headers={"X-Request-ID": "bad id\nwith newline"})
    assert generated.headers["x-request-id"] != "bad id\nwith newline"
    assert len(generated.headers["x-request-id"]) == 32


@pytest.fixture
async def app_with_dead_redis(settings: Settings) -> AsyncIterator[FastAPI]:
    dead = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    application = create_app(dead)
    async with application.router.lifespan_context(application):
        yield application


async def test_redis_down_readyz_degraded_but_ready(app_with_dead_redis: FastAPI) -> None:
    """Every API pod shares one Redis: were a Redis blip to mark pods unready, the Service
    would drop them all at once and API-key clients and signed tile reads, which work
    without Redis, would fail too. Redis degrades features; it does not take pods out."""
    transport = httpx.ASGITransport(app=app_with_dead_redis)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        started = time.monotonic()
        ready = await c.get("/readyz")
        elapsed = time.monotonic() - started
        live = await c.get("/livez")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "degraded"
    assert ready.json()["degraded"] == ["redis"]
    assert ready.json()["checks"]["redis"] != "ok"
    assert ready.json()["checks"]["database"] == "ok"
    assert live.status_code == 200
    # Functional bound (no hang), not a performance claim: the check has a hard timeout.
    assert elapsed < 5


async def test_unhandled_error_is_500_without_trace(settings: Settings) -> None:
    application = create_app(settings)

    @application.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=transport, base_url="http://t") as c,
    ):
        response = await c.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
