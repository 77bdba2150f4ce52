"""Every request body is bounded while it streams in, whatever its content type and before
anything (authentication included) reads it, and a client too slow to send it is cut off.

* Upload routes (``streamed``) pass their body through as it arrives, counted against
  ``max_streamed_bytes``; the endpoint writes it to storage chunk by chunk.
* Every other route gets at most ``max_bytes`` (JSON, forms, text, no content type at
  all): the body is read up to the limit and replayed to the app, never buffered beyond it.
* A body that stops arriving for ``idle_timeout`` seconds, or that after ``rate_grace``
  seconds has averaged less than ``min_rate`` bytes a second (a 1 byte/s trickle), ends
  with 408 problem+json and a closed connection.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spatialviz.kit.errors import PROBLEM_JSON, PayloadTooLarge, SpatialvizError, problem_body


class RequestTimeout(SpatialvizError):
    status = 408
    code = "request_timeout"
    title = "Request timeout"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Connection": "close"})


@dataclass(frozen=True)
class BodyLimits:
    max_bytes: int
    max_streamed_bytes: int
    idle_timeout: float
    min_rate: float
    rate_grace: float


class _BodyClock:
    """Counts a body's bytes and refuses it when it is too big or too slow."""

    def __init__(self, limits: BodyLimits, max_bytes: int) -> None:
        self.limits, self.max_bytes = limits, max_bytes
        self.size = 0
        self.started = time.monotonic()
        self.complete = False

    async def receive(self, receive: Receive) -> Message:
        if self.complete:  # after the body, only a disconnect can come: no deadline
            return await receive()
        try:
            message = await asyncio.wait_for(receive(), self.limits.idle_timeout)
        except TimeoutError:
            raise RequestTimeout(
                f"No request body bytes arrived for {self.limits.idle_timeout:g} seconds."
            ) from None
        if message["type"] != "http.request":
            return message
        self.size += len(message.get("body", b""))
        if self.size > self.max_bytes:
            raise PayloadTooLarge(
                f"The request body is larger than {self.max_bytes} bytes",
                headers={"Connection": "close"},
            )
        if message.get("more_body", False):
            self._check_rate()
        else:
            self.complete = True
        return message

    def _check_rate(self) -> None:
        elapsed = time.monotonic() - self.started
        if elapsed > self.limits.rate_grace and self.size < self.limits.min_rate * elapsed:
            raise RequestTimeout(
                f"The request body arrives slower than {self.limits.min_rate:g} bytes a second."
            )


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        limits: BodyLimits,
        streamed: Sequence[tuple[str, str]] = (),
    ) -> None:
        """``streamed``: (method, path) of the routes that stream their body; a path ending
        in "/" covers everything under it."""
        self.app, self.limits, self.streamed = app, limits, tuple(streamed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        streamed = self._is_streamed(scope)
        limit = self.limits.max_streamed_bytes if streamed else self.limits.max_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, PayloadTooLarge(_too_large(limit)))
            return
        clock = _BodyClock(self.limits, limit)
        if streamed:

            async def counted() -> Message:
                return await clock.receive(receive)

            await self.app(scope, counted, send)
            return
        try:
            body = await _read_whole(clock, receive)
        except SpatialvizError as exc:
            await _refuse(scope, send, exc)
            return
        if body is None:  # the client went away
            return
        await self.app(scope, _replay(body, receive), send)

    def _is_streamed(self, scope: Scope) -> bool:
        method, path = scope["method"], scope["path"]
        return any(
            method == m and (path == p or (p.endswith("/") and path.startswith(p)))
            for m, p in self.streamed
        )


async def _read_whole(clock: _BodyClock, receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    more = True
    while more:
        message = await clock.receive(receive)
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: int) -> str:
    return f"The request body is larger than {limit} bytes"


async def _refuse(scope: Scope, send: Send, exc: SpatialvizError) -> None:
    """Answer from here (the app has not run): problem+json, and the connection closed so
    the rest of the body is never read."""
    body = json.dumps(
        problem_body(exc.status, exc.title, exc.detail, code=exc.code, instance=scope["path"])
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": exc.status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
