"""Hostile request bodies against the API process: 300 MiB with a non-JSON, a missing or a
streamed (chunked) content, to routes that need no sign-in, and a JSON nesting bomb. Each
is refused (413/401/400) without being read whole, and the API's peak memory stays under
300 MB above what it used before."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx

from tests.drills.conftest import api_env, figure, sign_up
from tests.drills.processes import ApiServer

MiB = 1 << 20
HUGE = 300 * MiB


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def _send(api: ApiServer, head: str, *, chunked: bool) -> int | None:
    """Send ``head`` and up to 300 MiB of body (stopping when the server hangs up); the
    status the server answered, if it could still be read."""
    with socket.create_connection(("127.0.0.1", api.port), timeout=120) as sock:
        sock.sendall(head.encode())
        block = b"[" * MiB
        frame = f"{len(block):x}\r\n".encode() + block + b"\r\n" if chunked else block
        try:
            for _ in range(HUGE // MiB):
                sock.sendall(frame)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the end: what a bound does
        try:
            answer = sock.recv(64)
        except ConnectionResetError:
            return None
    return int(answer.split()[1]) if answer.startswith(b"HTTP/1.1 ") else None


def test_huge_and_nested_bodies_are_refused_within_bounded_memory(
    database_url: str, tmp_path: Path
) -> None:
    api = ApiServer(api_env(tmp_path, database_url), tmp_path / "api.log")
    api.start()
    try:
        with httpx.Client(base_url=api.url, timeout=60) as client:
            headers, workspace = sign_up(client)
            baseline = _memory_kib(api.pid, "VmRSS")
            host = "Host: drill\r\n"
            statuses = {
                "text/plain, declared": _send(
                    api,
                    f"POST /api/v1/auth/register HTTP/1.1\r\n{host}"
                    f"Content-Type: text/plain\r\nContent-Length: {HUGE}\r\n\r\n",
                    chunked=False,
                ),
                "no content type, chunked": _send(
                    api,
                    f"POST /api/v1/auth/token HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\n",
                    chunked=True,
                ),
                "json, chunked": _send(
                    api,
                    f"POST /api/v1/auth/register HTTP/1.1\r\n{host}"
                    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                    chunked=True,
                ),
                "upload without sign-in": _send(
                    api,
                    f"POST /api/v1/datasets?workspace_id={workspace} HTTP/1.1\r\n{host}"
                    f"Content-Type: application/octet-stream\r\nContent-Length: {HUGE}\r\n\r\n",
                    chunked=False,
                ),
            }
            nested = client.post(
                "/api/v1/scenes",
                content=b"[" * (MiB - 1024) + b"]" * 1000,
                headers={**headers, "content-type": "application/json"},
            )
            malformed = client.post(
                f"/api/v1/datasets?workspace_id={workspace}",
                content=b"garbage before the first boundary\r\n--b\r\n",
                headers={**headers, "content-type": "multipart/form-data; boundary=b"},
            )
            extra_mb = (_memory_kib(api.pid, "VmHWM") - baseline) / 1024
            figure("hostile_body_statuses", statuses)
            figure("hostile_nested_json_status", nested.status_code)
            figure("hostile_malformed_multipart_status", malformed.status_code)
            figure("hostile_body_api_peak_extra_mb", round(extra_mb))

            assert client.get("/livez").status_code == 200
            for what, status in statuses.items():
                assert status in (None, 401, 413), (what, status)
            assert nested.status_code in (400, 422), nested.text
            assert malformed.status_code == 422, malformed.text
            assert extra_mb < 300
    finally:
        api.stop()
