"""Private PostgreSQL clusters for tests that must stop a server or need a real streaming
replica (tests/kit/test_replica.py, the drills in tests/drills/): made with
initdb/pg_basebackup from the machine's PostgreSQL binaries in a temporary folder, on their
own ports, and removed afterwards. The shared server is never touched."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

PG_BIN = Path((sorted(glob.glob("/usr/lib/postgresql/*/bin")) or ["/usr/bin"])[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ClusterError(RuntimeError):
    """A PostgreSQL tool failed; the message carries what it printed."""


class PrivateCluster:
    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self.data = folder / name
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0  # PostgreSQL refuses to run as root

    def url(self, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, tool: str, *args: str) -> None:
        command = [str(PG_BIN / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise ClusterError(f"{tool} failed ({result.returncode}): {result.stderr.strip()}")

    def init_primary(self) -> None:
        self._own_folder()
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def init_replica_of(self, primary: PrivateCluster) -> None:
        self._own_folder()
        self.run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", str(self.data), "-R", "-X", "stream", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        """Starts the cluster; a port taken meanwhile by another process (the machine is
        shared) is replaced by a fresh one, a few times."""
        for attempt in range(3):
            try:
                self._start_once()
                return
            except ClusterError:
                if attempt == 2:
                    raise
                self.port = _free_port()

    def _start_once(self) -> None:
        options = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.folder} -c wal_level=replica "
            "-c max_wal_senders=5 -c fsync=off -c hot_standby=on"
        )
        log = self.folder / f"{self.data.name}.log"
        self.run("pg_ctl", "-D", str(self.data), "-l", str(log), "-o", options, "-w", "start")
        deadline = time.monotonic() + 60
        while not _accepts(self.port):
            if time.monotonic() > deadline:
                raise ClusterError(f"cluster {self.data.name} did not start: {log.read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        """A crash, as an operator's kill would be: no clean shutdown."""
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        """Stopped if running, and its folder removed."""
        with contextlib.suppress(ClusterError):  # already stopped
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _own_folder(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
            for parent in self.folder.parents:  # pytest's tmp folders are 0700 root
                if parent == Path("/") or parent == Path("/tmp"):
                    break
                parent.chmod(parent.stat().st_mode | 0o711)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
