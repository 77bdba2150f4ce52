"""Issue 16: X-Forwarded-For believed only from configured proxies (finding 10); /metrics
and the API docs not public in production (finding 12)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from spatialviz.app import create_app
from spatialviz.config import Settings
from spatialviz.kit.proxies import uvicorn_proxy_options


class TestForwardedFor:
    @pytest.fixture(params=[[], ["127.0.0.1"]], ids=["no-proxy", "trusted-proxy"])
    def settings(self, settings: Settings, request: pytest.FixtureRequest) -> Settings:
        return settings.model_copy(
            update={"rate_limit_auth": "2/minute", "trusted_proxies": request.param}
        )

    async def test_a_client_cannot_pick_its_rate_limit_bucket(
        self, live_server: str, settings: Settings
    ) -> None:
        """Through the real server (uvicorn configured as `spatialviz serve` does): three
        sign-ins, each claiming another address."""
        statuses = []
        async with httpx.AsyncClient(base_url=live_server) as client:
            for i in range(3):
                response = await client.post(
                    "/api/v1/auth/token",
                    data={"username": "nobody@example.com", "password": "wrong password"},
                    headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
                )
                statuses.append(response.status_code)
        if settings.trusted_proxies:
            # Behind a configured proxy the header names the client: three clients.
            assert statuses == [401, 401, 401]
        else:
            # Straight from a client it is ignored: one client, over its limit.
            assert statuses == [401, 401, 429]


@pytest.fixture
async def production(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    prod = settings.model_copy(
        update={
            "env": "production",
            "jobs_backend": "embedded",
            "argon2_cost": "standard",
            "metrics_token": SecretStr("m" * 40),
            "metrics_allowed_ips": [],
        }
    )
    app = create_app(prod)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_docs_and_metrics_are_not_public_in_production(
    production: httpx.AsyncClient,
) -> None:
    for path in ("/docs", "/openapi.json", "/metrics"):
        response = await production.get(path)
        assert response.status_code == 404, path
    wrong = await production.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 404
    scraped = await production.get("/metrics", headers={"Authorization": "Bearer " + "m" * 40})
    assert scraped.status_code == 200
    assert "spatialviz_http_requests_total" in scraped.text
    assert (await production.get("/livez")).status_code == 200


async def test_metrics_from_an_allowed_address_in_production(settings: Settings) -> None:
    prod = settings.model_copy(
        update={
            "env": "production",
            "jobs_backend": "embedded",
            "argon2_cost": "standard",
            "metrics_allowed_ips": ["127.0.0.0/8"],
            "docs_enabled": True,
        }
    )
    app = create_app(prod)
    async with app.router.lifespan_context(app):
        # httpx's ASGI transport calls from 127.0.0.1 unless told otherwise.
        for client_ip, expected in ((("127.0.0.1", 1), 200), (("198.51.100.7", 1), 404)):
            transport = httpx.ASGITransport(app=app, client=client_ip)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                assert (await c.get("/metrics")).status_code == expected
                assert (await c.get("/docs")).status_code == 200  # asked for explicitly


async def test_docs_and_metrics_stay_open_in_development(client: httpx.AsyncClient) -> None:
    for path in ("/docs", "/openapi.json", "/metrics"):
        assert (await client.get(path)).status_code == 200, path


def test_proxy_settings_read_like_the_deployment_writes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SPATIALVIZ_TRUSTED_PROXIES", "10.0.0.5, 192.168.0.0/16,localhost")
    monkeypatch.setenv("SPATIALVIZ_METRICS_ALLOWED_IPS", '["10.1.0.0/16"]')
    settings = Settings()
    assert settings.trusted_proxies == ["10.0.0.5", "192.168.0.0/16", "localhost"]
    assert settings.metrics_allowed_ips == ["10.1.0.0/16"]
    options = uvicorn_proxy_options(settings)
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"][:2] == ["10.0.0.5/32", "192.168.0.0/16"]
    assert "127.0.0.1" in options["forwarded_allow_ips"]  # localhost, resolved
    monkeypatch.setenv("SPATIALVIZ_TRUSTED_PROXIES", "")
    assert uvicorn_proxy_options(Settings()) == {"proxy_headers": False}
