"""Real processes a drill starts, stops and kills: a private Redis on its own port (never the
machine's shared server; private PostgreSQL clusters are tests/kit/pg_cluster.py's), and the
API under uvicorn.

Every process is started in its own session, so "everything it left behind" is exactly the
processes still in that session, and killing one never touches anything else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import httpx

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(probe: Callable[[], T | None], within: float, what: str) -> T:
    """Poll ``probe`` until it returns a value; the bound is a functional limit."""
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within} s")
        time.sleep(0.05)


def holds_within(condition: Callable[[], bool], within: float) -> bool:
    """Poll ``condition`` until it holds (True) or ``within`` seconds pass (False), so that a
    drill can report what it saw before it asserts."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def session_processes(sid: int) -> list[int]:
    """PIDs (alive, not zombies) whose session id is ``sid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            found.append(int(entry))
    return found


def kill_session(sid: int) -> None:
    for pid in session_processes(sid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(lambda: _accepts(self.port) or None, 30, "redis-server accepting")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class ApiServer:
    """``uvicorn spatialviz.app:create_app`` in its own session, configured by environment."""

    def __init__(self, env: Mapping[str, str], log_path: Path, *, serve: bool = False) -> None:
        """``serve``: run ``spatialviz serve`` (the production entry point, with its own
        uvicorn protocol options) instead of plain uvicorn."""
        self.port = free_port()
        self.serve = serve
        self.env = {**os.environ, **env}
        # Measuring the figures "before": DRILL_API_SRC=<an older checkout's src> runs that
        # code as the server (docs/operations.md).
        if os.environ.get("DRILL_API_SRC"):
            self.env["PYTHONPATH"] = os.environ["DRILL_API_SRC"]
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.sessions: list[int] = []  # every start's session, for the final clean-up

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m"]
        if self.serve:
            command += ["spatialviz", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        else:
            command += ["uvicorn", "--factory", "spatialviz.app:create_app", "--host"]
            command += ["127.0.0.1", "--port", str(self.port), "--no-access-log"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=log, start_new_session=True
            )
        self.sessions.append(self.process.pid)
        wait_until(self._live, 60, f"API on {self.url} (log: {self.log_path})")

    def _live(self) -> bool | None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the API exited: {self.log_path.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/livez", timeout=2).status_code == 200 or None
        except httpx.HTTPError:
            return None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """kill -9 of the server process alone, as the OOM killer or an operator does."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        for sid in self.sessions:
            kill_session(sid)
        if self.process is not None:
            self.process.wait(10)
            self.process = None
