"""The rate limiter tries a Redis call once more when its answer never came: a sign-up is
not refused (the sign-up limit fails closed) for one reply lost to a loaded host."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import pytest

from spatialviz.config import Settings
from spatialviz.kit.ratelimit import create_rate_limiter
from tests.conftest import SERVICES

pytestmark = pytest.mark.skipif(not SERVICES, reason="the limiter's Redis (services mode)")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


class FirstAnswerLost:
    """A TCP relay to Redis that reads its first connection's commands and never answers
    them (a reply lost, a Redis that stalled); later connections go through."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.connections = 0
        self._silent: list[asyncio.StreamWriter] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.connections == 1:
            self._silent.append(writer)
            with contextlib.suppress(ConnectionError):
                while await reader.read(65536):
                    pass
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    def close(self) -> None:
        for writer in self._silent:
            writer.close()


@asynccontextmanager
async def first_answer_lost(redis_url: str) -> AsyncIterator[tuple[str, FirstAnswerLost]]:
    """``redis_url`` reached through a :class:`FirstAnswerLost` relay."""
    parts = urlsplit(redis_url)
    relay = FirstAnswerLost(parts.hostname or "127.0.0.1", parts.port or 6379)
    server = await asyncio.start_server(relay.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield parts._replace(netloc=f"127.0.0.1:{port}").geturl(), relay
    finally:
        relay.close()
        server.close()


async def test_a_lost_answer_is_asked_again_not_refused(settings: Settings) -> None:
    assert settings.redis_url is not None
    async with first_answer_lost(settings.redis_url) as (url, relay):
        limiter = create_rate_limiter(
            settings.model_copy(update={"redis_url": url, "redis_timeout_seconds": 1.0})
        )
        try:
            # Fail closed, as the sign-up limit does: a refusal would raise 503 here.
            await limiter.enforce("5/minute", "retry-test", "127.0.0.1", fail_open=False)
        finally:
            await limiter.aclose()
    assert relay.connections == 2  # the unanswered one, then the one that answered
