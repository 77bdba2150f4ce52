"""Share links point where the server is reached (issue 17, item 1): the request's own
scheme and host, X-Forwarded-Proto believed only from a trusted proxy, unless a public URL
is configured. A real uvicorn serves the app, as `spatialviz serve` runs it."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from spatialviz.config import Settings
from tests.factories import Tenant, register_and_sign_in


async def _share_url(base: str, headers: dict[str, str] | None = None) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        user, auth = await register_and_sign_in(client)
        tenant = Tenant(client, user, auth, user["personal_workspace_id"])
        scene_id = await tenant.ensure("scene_id")
        response = await client.post(
            f"/api/v1/scenes/{scene_id}/share-links", headers={**auth, **(headers or {})}
        )
    assert response.status_code == 201, response.text
    url: str = response.json()["url"]
    assert f"/scenes/{scene_id}?share=" in url
    return url


async def test_a_link_follows_the_address_the_server_was_reached_on(
    settings: Settings, live_server: str
) -> None:
    url = await _share_url(live_server)
    assert url.startswith(f"{live_server}/scenes/")


async def test_a_link_follows_the_host_a_proxy_passes_on(
    settings: Settings, live_server: str
) -> None:
    url = await _share_url(live_server, {"Host": "viz.example.org:8443"})
    assert urlsplit(url)[:2] == ("http", "viz.example.org:8443")


@pytest.fixture
def behind_proxy(settings: Settings) -> Settings:
    settings.trusted_proxies = ["127.0.0.1"]
    return settings


async def test_a_trusted_proxy_names_the_scheme(behind_proxy: Settings, live_server: str) -> None:
    url = await _share_url(live_server, {"Host": "viz.example.org", "X-Forwarded-Proto": "https"})
    assert urlsplit(url)[:2] == ("https", "viz.example.org")


async def test_an_untrusted_peer_cannot_name_the_scheme(
    settings: Settings, live_server: str
) -> None:
    assert settings.trusted_proxies == []
    url = await _share_url(live_server, {"Host": "viz.example.org", "X-Forwarded-Proto": "https"})
    assert urlsplit(url)[:2] == ("http", "viz.example.org")


@pytest.fixture
def public_url(settings: Settings) -> Settings:
    settings.public_base_url = "https://maps.example.com/"
    return settings


async def test_a_configured_public_url_wins(public_url: Settings, live_server: str) -> None:
    url = await _share_url(live_server, {"Host": "elsewhere.example.org"})
    assert url.startswith("https://maps.example.com/scenes/")


def test_no_public_url_by_default() -> None:
    assert Settings.model_fields["public_base_url"].default is None
