"""A request sent on a connection the server accepted just before it began to stop is
answered, not reset (a Gunicorn HUP under load reset one such request).

A real uvicorn server with ``spatialviz serve``'s HTTP protocol class, on a loopback socket,
in this test's own event loop, so the order is exact: the request is written only after the
server has stopped listening and told its connections to shut down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from spatialviz.kit.slow_clients import header_deadline_protocol

REQUEST = b"GET / HTTP/1.1\r\nhost: test\r\n\r\n"


async def _hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    headers = [(b"content-length", b"5")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"hello"})


async def _poll(condition: Any, what: str) -> None:
    # A bound for a server that never gets there, wide for a busy machine (not a timing check).
    for _ in range(6000):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(what)


@pytest.fixture
async def stopping_server() -> AsyncIterator[tuple[uvicorn.Server, asyncio.Task[None], int]]:
    """A serving uvicorn (the product's protocol class), its serve() task and its port."""
    config = uvicorn.Config(
        _hello,
        host="127.0.0.1",
        port=0,
        http=header_deadline_protocol(30.0),
        lifespan="off",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    await _poll(lambda: server.started or serving.done(), "the server did not start")
    yield server, serving, server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    await asyncio.wait_for(serving, 120)


async def _idle_connection_then_stop(
    server: uvicorn.Server, port: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await _poll(lambda: len(server.server_state.connections) == 1, "no connection seen")
    server.should_exit = True
    return reader, writer


async def test_an_idle_connection_still_delivers_its_request_while_the_server_stops(
    stopping_server: tuple[uvicorn.Server, asyncio.Task[None], int],
) -> None:
    server, serving, port = stopping_server
    reader, writer = await _idle_connection_then_stop(server, port)
    # uvicorn closes its listener and shuts its connections down in one step.
    await _poll(lambda: not server.servers[0].is_serving(), "the server did not stop")

    writer.write(REQUEST)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 120)  # to EOF: closed after the response
    writer.close()
    await asyncio.wait_for(serving, 120)

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), answer
    assert b"connection: close" in head.lower(), answer
    assert body == b"hello"


async def test_an_idle_connection_that_sends_nothing_is_closed_when_the_server_stops(
    stopping_server: tuple[uvicorn.Server, asyncio.Task[None], int],
) -> None:
    server, serving, port = stopping_server
    reader, writer = await _idle_connection_then_stop(server, port)
    # Closed after the grace, long before the 30 s header deadline would have answered 408.
    assert await asyncio.wait_for(reader.read(), 120) == b""
    await asyncio.wait_for(serving, 120)
    writer.close()
