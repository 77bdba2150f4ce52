"""Malformed multipart bodies and clients that hang up mid-upload: a 4xx (never a 500), and
nothing left behind, not even in storage's temporary area."""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from spatialviz.config import Settings
from spatialviz.kit.errors import PROBLEM_JSON
from tests.factories import register_and_sign_in


def everything_stored(settings: Settings) -> list[str]:
    root = Path(settings.storage_url.removeprefix("file://"))
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _part(name: str, filename: str | None = None, body: bytes = b"x,y,z\n1,2,3\n") -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return b"--b\r\nContent-Disposition: " + disposition.encode() + b"\r\n\r\n" + body + b"\r\n"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"garbage before the first boundary\r\n--b\r\n", id="no-boundary"),
        pytest.param(b"--b\r\nContent Disposition: x\r\n\r\nx\r\n--b--", id="bad-header"),
        pytest.param(b"--bX\r\n", id="bad-boundary-line"),
        pytest.param(
            b"".join(_part(f"f{i}") for i in range(40)) + _part("file", "a.csv") + b"--b--",
            id="many-parts",
        ),
        pytest.param(
            b"--b\r\nX-Long: " + b"a" * 20000 + b"\r\n\r\nx\r\n--b--", id="huge-part-header"
        ),
    ],
)
async def test_malformed_multipart_is_422_and_leaves_nothing(
    client: httpx.AsyncClient, settings: Settings, body: bytes
) -> None:
    user, headers = await register_and_sign_in(client)
    response = await client.post(
        "/api/v1/datasets",
        params={"workspace_id": user["personal_workspace_id"]},
        content=body,
        headers={**headers, "content-type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert everything_stored(settings) == []


async def _call_hanging_up(app: FastAPI, path: str, headers: dict[str, str]) -> int:
    """Drive the app as a server would for a client that sends 1 MiB of a 100 MiB body and
    then disconnects; the status the app answered."""
    sent: list[MutableMapping[str, Any]] = []
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b"1,2,3\n" * 174763, "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if len(messages) > 1 else messages[0]

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PATCH" if raw_path.startswith("/api/v1/uploads/") else "POST",
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
        "root_path": "",
    }
    await app(scope, receive, send)
    status: int = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status


async def test_client_hanging_up_mid_upload_is_no_500_and_leaves_nothing(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    user, headers = await register_and_sign_in(client)
    workspace = user["personal_workspace_id"]
    body_headers = {**headers, "content-type": "text/csv", "content-length": str(100 << 20)}
    status = await _call_hanging_up(
        app, f"/api/v1/datasets?workspace_id={workspace}&filename=a.csv", body_headers
    )
    assert status == 400
    listing = await client.get("/api/v1/datasets", headers=headers)
    assert listing.json()["items"] == []
    assert everything_stored(settings) == []
