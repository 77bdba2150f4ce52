"""Every request body is bounded while it streams, whatever its content type, and a client
too slow to send one is cut off with 408 (a real uvicorn server and a raw socket)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from spatialviz.config import Settings
from spatialviz.kit.errors import PROBLEM_JSON


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "max_json_body_bytes": 4096,
            "request_body_idle_timeout_seconds": 0.5,
            "request_body_min_rate_bytes": 1000.0,
            "request_body_rate_grace_seconds": 1.0,
        }
    )


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/json", "image/png"])
async def test_any_content_type_over_the_bound_is_413(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post("/api/v1/auth/register", content=b"x" * 5000, headers=headers)
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    # Shaped by kit.errors.problem_body, like every problem the app renders.
    body = response.json()
    assert body["type"].endswith("/payload_too_large")
    assert body["code"] == "payload_too_large"
    assert body["status"] == 413
    assert body["instance"] == "/api/v1/auth/register"


async def test_a_streamed_body_is_cut_at_the_bound(client: httpx.AsyncClient) -> None:
    async def endless() -> AsyncIterator[bytes]:
        for _ in range(10_000):
            yield b"y" * 1024

    response = await client.post("/api/v1/auth/token", content=endless())
    assert response.status_code == 413


def _talk(url: str, head: bytes, trickle: bytes, pause: float) -> bytes:
    """Send ``head``, then ``trickle`` a byte at a time with a pause between bytes, until
    the server answers; its answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head)
        sock.settimeout(pause)
        for byte in trickle:
            try:
                answer = sock.recv(4096)
            except TimeoutError:
                sock.sendall(bytes([byte]))
                continue
            return answer
        sock.settimeout(30)
        return sock.recv(4096)


def _signed_up(url: str) -> tuple[str, str]:
    """(Authorization header value, personal workspace id) of a new user."""
    email, password = f"slow-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery 42"
    with httpx.Client(base_url=url, timeout=30) as client:
        user = client.post("/api/v1/auth/register", json={"email": email, "password": password})
        tokens = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    return f"Bearer {tokens.json()['access_token']}", user.json()["personal_workspace_id"]


def test_a_stalled_json_body_is_408(live_server: str) -> None:
    head = (
        b"POST /api/v1/auth/register HTTP/1.1\r\nHost: t\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
    )
    answer = _talk(live_server, head, b"", pause=0.1)
    assert answer.startswith(b"HTTP/1.1 408"), answer


def test_a_stalled_upload_is_408_and_leaves_nothing(live_server: str, settings: Settings) -> None:
    auth, workspace = _signed_up(live_server)
    head = (
        f"POST /api/v1/datasets?workspace_id={workspace}&filename=a.csv HTTP/1.1\r\n"
        f"Host: t\r\nAuthorization: {auth}\r\nContent-Type: text/csv\r\n"
        "Content-Length: 100000\r\n\r\nx,y,z\n"
    ).encode()
    answer = _talk(live_server, head, b"", pause=0.1)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    storage = Path(settings.storage_url.removeprefix("file://"))
    assert [p for p in storage.rglob("*") if p.is_file()] == []


def test_a_one_byte_a_second_body_is_408(live_server: str) -> None:
    head = (
        b"POST /api/v1/auth/register HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: 3000\r\n\r\n"
    )
    # A byte every 0.1 s is under the 1000 B/s floor and never idle for 0.5 s.
    answer = _talk(live_server, head, b" " * 2999, pause=0.1)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"slower than" in answer
