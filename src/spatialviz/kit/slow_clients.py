"""A deadline for a request's headers, which uvicorn does not have.

Uvicorn times an idle keep-alive connection only after a response; a client that connects
and sends nothing, or sends its headers a byte at a time, holds the connection (and a file
descriptor) forever. The application cannot help: it is called only once the headers are
complete. So the HTTP protocol class is extended here: from a connection's start, and from
the first byte of each later request, the headers must be complete within
``request_header_timeout_seconds``, else the server answers ``408`` and closes. A body's own
pace is bounded by ``kit/bodylimit.py`` (idle timeout, minimum rate).

The same class also closes idle connections gently when the server stops (a Gunicorn HUP or
TERM): uvicorn closes a connection with no request in progress at once, so a request sent
on a connection accepted an instant before, still unread, was reset. An idle connection
gets ``SHUTDOWN_GRACE_SECONDS`` to deliver a request, which is served with
``connection: close``.

``spatialviz serve`` uses it with one uvicorn process and with Gunicorn's workers alike.
"""

from __future__ import annotations

import asyncio
import json
from functools import cache
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from spatialviz.config import Settings

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    _BASE: type[Any] = HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is a dependency; h11 is uvicorn's fallback
    _BASE = H11Protocol

_BODY = json.dumps(
    {
        "type": "about:blank",
        "title": "Request Timeout",
        "status": 408,
        "code": "request_timeout",
        "detail": "The request's headers did not arrive in time.",
    }
).encode()
_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/problem+json\r\n"
    b"connection: close\r\n"
    b"content-length: " + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY
)


#: How long an idle connection may still deliver a request once the server stops (it delays
#: that server's exit by as much at most).
SHUTDOWN_GRACE_SECONDS = 2.0


class _HeaderDeadline:
    """Mixed into uvicorn's protocol class (its ``cycle`` is made when headers complete)."""

    header_timeout: float
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    cycle: Any

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._header_timer: asyncio.TimerHandle | None = None
        self._stopping = False
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and not self._serving():
            self._arm()  # the first byte of a later request on a kept-alive connection
        cycle = self.cycle
        super().data_received(data)  # type: ignore[misc]
        if self.cycle is not cycle or not self._ours():
            self._disarm()  # headers complete (or the connection became a WebSocket)
        if self._stopping and self._serving():
            self.cycle.keep_alive = False  # the one request a stopping server still serves

    def shutdown(self) -> None:
        """The server stops: an idle connection may still deliver one request (see above)."""
        if self._serving() or self.transport.is_closing() or not self._ours():
            super().shutdown()  # type: ignore[misc]
            return
        self._stopping = True
        self.loop.call_later(SHUTDOWN_GRACE_SECONDS, self._close_if_idle)

    def _close_if_idle(self) -> None:
        if self._serving():
            self.cycle.keep_alive = False  # closed after its response
        elif not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _ours(self) -> bool:
        """False once the connection was handed to another protocol (a WebSocket)."""
        protocol: object = self.transport.get_protocol()
        return protocol is self

    def _serving(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _arm(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or not self._ours():
            return
        if self._serving():
            return  # the headers completed; the body has its own bounds
        self.transport.write(_RESPONSE)
        self.transport.close()


@cache
def header_deadline_protocol(seconds: float) -> type[asyncio.Protocol]:
    """Uvicorn's HTTP protocol (httptools, else h11) with a headers deadline of ``seconds``."""
    return type(
        f"HeaderDeadline{_BASE.__name__}",
        (_HeaderDeadline, _BASE),
        {"header_timeout": seconds},
    )


def _gunicorn_worker() -> type[Any]:
    from uvicorn_worker import UvicornWorker  # type: ignore[import-untyped]

    class HeaderDeadlineWorker(UvicornWorker):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            seconds = Settings().request_header_timeout_seconds
            self.CONFIG_KWARGS = {
                **UvicornWorker.CONFIG_KWARGS,
                "http": header_deadline_protocol(seconds),
            }
            super().__init__(*args, **kwargs)

    return HeaderDeadlineWorker


def __getattr__(name: str) -> Any:
    # Gunicorn imports its worker class by name; built on demand so that importing this
    # module needs neither Gunicorn nor the settings.
    if name == "HeaderDeadlineWorker":
        return _gunicorn_worker()
    raise AttributeError(name)
