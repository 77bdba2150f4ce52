"""Helpers for the readiness tests: an app on given settings, through its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from spatialviz.app import create_app
from spatialviz.config import Settings


async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """One client on an app made from ``settings`` (use with ``async for``)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client
