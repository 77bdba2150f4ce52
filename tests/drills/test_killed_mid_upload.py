"""The API is killed (SIGKILL) while a raw upload and a tus PATCH stream in: their
temporary files stay behind in storage/.tmp, and the restarted API's sweep removes them,
leaving 0 bytes."""

from __future__ import annotations

import base64
import socket
from pathlib import Path

import httpx

from tests.drills.conftest import api_env, figure, sign_up
from tests.drills.processes import ApiServer, holds_within, wait_until

MiB = 1 << 20


def _tmp_bytes(storage: Path) -> int:
    return sum(p.stat().st_size for p in (storage / ".tmp").iterdir() if p.is_file())


def _start_body(api: ApiServer, head: str, size: int) -> socket.socket:
    """Send a request's head and ``size`` bytes of its (longer) body, and keep it open."""
    sock = socket.create_connection(("127.0.0.1", api.port))
    sock.sendall(head.encode())
    chunk = b"1,2,3\n" * (MiB // 6)
    sent = 0
    while sent < size:
        sock.sendall(chunk)
        sent += len(chunk)
    return sock


def _tus_upload(client: httpx.Client, headers: dict[str, str], workspace: str) -> str:
    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}"
        for k, v in {"workspace_id": workspace, "filename": "t.csv"}.items()
    )
    created = client.post(
        "/api/v1/uploads",
        headers={
            **headers,
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(500 * MiB),
            "Upload-Metadata": meta,
        },
    )
    assert created.status_code == 201, created.text
    return created.headers["location"]


def test_server_killed_mid_upload_leaves_nothing_after_the_sweep(
    database_url: str, tmp_path: Path
) -> None:
    storage = tmp_path / "storage"
    env = api_env(tmp_path, database_url, storage_tmp_max_age_seconds="0")
    api = ApiServer(env, tmp_path / "api.log")
    api.start()
    try:
        with httpx.Client(base_url=api.url, timeout=30) as client:
            headers, workspace = sign_up(client)
            location = _tus_upload(client, headers, workspace)
        auth = headers["Authorization"]
        patch = _start_body(
            api,
            f"PATCH {location} HTTP/1.1\r\nHost: drill\r\nAuthorization: {auth}\r\n"
            "Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
            "Content-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {500 * MiB}\r\n\r\n",
            24 * MiB,
        )
        raw = _start_body(
            api,
            f"POST /api/v1/datasets?workspace_id={workspace}&filename=big.csv HTTP/1.1\r\n"
            f"Host: drill\r\nAuthorization: {auth}\r\nContent-Type: text/csv\r\n"
            f"Content-Length: {500 * MiB}\r\n\r\n",
            72 * MiB,
        )
        # Both bodies are being written to .tmp when the server dies.
        wait_until(lambda: _tmp_bytes(storage) >= 80 * MiB or None, 60, "uploads in .tmp")
        api.kill()
        patch.close()
        raw.close()
        leaked = _tmp_bytes(storage)
        figure("killed_mid_upload_tmp_bytes_before_sweep", leaked)
        assert leaked >= 80 * MiB

        api.start()  # the restart sweeps at start-up
        holds_within(lambda: _tmp_bytes(storage) == 0, 30)
        figure("killed_mid_upload_tmp_bytes_after_restart", _tmp_bytes(storage))
        assert _tmp_bytes(storage) == 0
    finally:
        api.stop()
