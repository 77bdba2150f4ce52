"""Slow clients against a real ``spatialviz serve`` process over real sockets: a client that
sends nothing, headers a byte at a time, or a body that stalls or trickles is answered 408
and its connection closed by the server (kit/slow_clients.py for headers, kit/bodylimit.py
for bodies). The limits are set low here (1 s); what is asserted is the server's answer
and that it closed the connection, never how long it took. Embedded mode (SQLite)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from spatialviz.kit.migrate import upgrade
from tests.conftest import TEST_SECRET
from tests.drills.processes import ApiServer

#: Bounds a broken server (one that never closes), not the behaviour under test.
GIVE_UP_SECONDS = 120


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    tmp = tmp_path_factory.mktemp("slow")
    (tmp / "var").mkdir()
    database_url = f"sqlite+aiosqlite:///{tmp / 'var' / 'db.sqlite'}"
    upgrade(database_url)
    env = {
        "SPATIALVIZ_ENV": "test",
        "SPATIALVIZ_VAR_DIR": str(tmp / "var"),
        "SPATIALVIZ_DATABASE_URL": database_url,
        "SPATIALVIZ_STORAGE_URL": f"file://{tmp / 'storage'}",
        "SPATIALVIZ_SECRET_KEY": TEST_SECRET,
        "SPATIALVIZ_LOG_LEVEL": "WARNING",
        "SPATIALVIZ_REDIS_URL": "",
        "SPATIALVIZ_JOBS_EMBEDDED_WORKERS": "1",
        "SPATIALVIZ_REQUEST_HEADER_TIMEOUT_SECONDS": "1",
        "SPATIALVIZ_REQUEST_BODY_IDLE_TIMEOUT_SECONDS": "1",
        "SPATIALVIZ_REQUEST_BODY_RATE_GRACE_SECONDS": "1",
        "SPATIALVIZ_REQUEST_BODY_MIN_RATE_BYTES": "1024",
    }
    api = ApiServer(env, tmp / "api.log", serve=True)
    api.start()
    yield api
    api.stop()


def _connect(server: ApiServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=GIVE_UP_SECONDS)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _trickle_until_answered(sock: socket.socket, data: bytes) -> bytes:
    """Send ``data`` one byte every 0.1 s (the slow client itself) until the server answers
    or closes; then everything it sends until it closes."""
    deadline = time.monotonic() + GIVE_UP_SECONDS
    sock.settimeout(0.1)
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            break
        try:
            first = sock.recv(65536)
        except TimeoutError:
            assert time.monotonic() < deadline, "the server never answered the slow client"
            continue
        sock.settimeout(GIVE_UP_SECONDS)
        return first + (_read_until_closed(sock) if first else b"")
    sock.settimeout(GIVE_UP_SECONDS)
    return _read_until_closed(sock)


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def test_a_client_that_sends_nothing_is_answered_408_and_closed(server: ApiServer) -> None:
    with _connect(server) as sock:
        response = _read_until_closed(sock)
    assert _status(response) == 408
    assert b"request_timeout" in response


def test_headers_sent_a_byte_at_a_time_are_answered_408_and_closed(server: ApiServer) -> None:
    headers = b"GET /livez HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 10_000 + b"\r\n\r\n"
    with _connect(server) as sock:
        response = _trickle_until_answered(sock, headers)
    assert _status(response) == 408


def test_a_kept_alive_connection_slow_on_its_next_request_is_closed(server: ApiServer) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(65536)
        assert _status(first) == 200
        response = _trickle_until_answered(sock, b"GET /livez HTTP/1.1\r\nX-Slow: " + b"a" * 5000)
    assert _status(response) == 408


def test_a_body_that_stalls_is_answered_408_and_closed(server: ApiServer) -> None:
    head = (
        b"POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\n"
        b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email": '
    )
    with _connect(server) as sock:
        sock.sendall(head)
        response = _read_until_closed(sock)
    assert _status(response) == 408
    assert b"request_timeout" in response


def test_a_body_at_one_byte_a_tick_is_answered_408_and_closed(server: ApiServer) -> None:
    body = b'{"email": "' + b"a" * 5000 + b'"}'
    head = (
        b"POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
    )
    with _connect(server) as sock:
        sock.sendall(head)
        response = _trickle_until_answered(sock, body)
    assert _status(response) == 408


def test_a_prompt_client_is_served(server: ApiServer) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        response = _read_until_closed(sock)
    assert _status(response) == 200
