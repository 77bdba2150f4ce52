"""Real Celery worker processes (``python -m spatialviz worker``), a RabbitMQ virtual host
of the test run's own and a throwaway Redis, for the services-mode runner tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import IO

import redis

from spatialviz.config import Settings
from tests.conftest import TEST_SECRET

SRC = Path(__file__).resolve().parents[2] / "src"
AMQP_SERVER = os.environ.get("SPATIALVIZ_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672")


def settings_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    # src/, and the repository root for the tests' job kinds (``jobs_kind_modules``).
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(SRC.parent), env.get("PYTHONPATH", "")])
    values = {
        "ENV": "test",
        "VAR_DIR": str(settings.var_dir),
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url or "",
        "CELERY_BROKER_URL": settings.celery_broker_url or "",
        "STORAGE_URL": settings.storage_url,
        "SECRET_KEY": TEST_SECRET,
        "LOG_LEVEL": "INFO",
        "JOBS_BACKEND": "celery",
        "JOBS_HEARTBEAT_SECONDS": str(settings.jobs_heartbeat_seconds),
        "JOBS_STALE_AFTER_SECONDS": str(settings.jobs_stale_after_seconds),
        "JOBS_LOST_AFTER_SECONDS": str(settings.jobs_lost_after_seconds),
        "JOBS_REAP_INTERVAL_SECONDS": str(settings.jobs_reap_interval_seconds),
        "JOBS_REQUEUE_AFTER_SECONDS": str(settings.jobs_requeue_after_seconds),
        "JOBS_PROGRESS_INTERVAL_SECONDS": str(settings.jobs_progress_interval_seconds),
        "SCENE_TILING_MAX_CHUNK_POINTS": str(settings.scene_tiling_max_chunk_points or ""),
        "JOBS_KIND_MODULES": json.dumps(settings.jobs_kind_modules),
    }
    env.update({f"SPATIALVIZ_{k}": v for k, v in values.items() if v})
    return env


class Worker:
    """One ``spatialviz worker`` in its own process group, so kill -9 takes all of it."""

    def __init__(
        self,
        settings: Settings,
        log_path: Path,
        *,
        beat: bool = True,
        concurrency: int = 2,
        host: str | None = None,
        metrics_port: int | None = None,
    ) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("ab")
        command = [sys.executable, "-m", "spatialviz", "worker", "--concurrency", str(concurrency)]
        command += ["--loglevel", "INFO"] + (["--beat"] if beat else [])
        if metrics_port is not None:
            command += ["--metrics-port", str(metrics_port)]
        if host is not None:
            command = as_host(host, command)
        self.process = subprocess.Popen(
            command,
            env=settings_env(settings),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """kill -9 of the worker: its main process and every pool process."""
        # The whole group, even when the main process is gone: pool processes may linger.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        if not self._log.closed:
            self._log.close()

    def holds(self, pid: int) -> bool:
        """Whether process ``pid`` is this worker or one of its pool processes."""
        try:
            return os.getpgid(pid) == self.process.pid
        except ProcessLookupError:
            return False

    def log_tail(self, lines: int = 40) -> str:
        """Shown with a failing test (pytest prints captured output)."""
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def exited_within(self, seconds: float) -> bool:
        try:
            self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if not self._log.closed:
            self._log.close()


def as_host(host: str, command: list[str]) -> list[str]:
    """``command`` under its own host name (a UTS namespace; same pid, so the process
    group is still ours to kill): to the API's reaper it is a worker on another machine,
    whose process it cannot see."""
    return ["unshare", "--uts", "sh", "-c", f'hostname {host} && exec "$@"', "sh", *command]


def can_pose_as_host() -> bool:
    """Whether this machine lets us start a process under another host name (root, or
    unprivileged user namespaces)."""
    try:
        done = subprocess.run(
            as_host("probe", ["true"]), capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


class Workers(list[Worker]):
    """The workers one test started, logs numbered in one folder; :meth:`kill_all` at its
    end kills them and prints each log's tail (pytest shows it with a failure)."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def start(
        self,
        settings: Settings,
        *,
        beat: bool = True,
        concurrency: int = 2,
        metrics_port: int | None = None,
    ) -> Worker:
        log_path = self.folder / f"worker-{len(self)}.log"
        worker = Worker(
            settings, log_path, beat=beat, concurrency=concurrency, metrics_port=metrics_port
        )
        self.append(worker)
        return worker

    def kill_all(self) -> None:
        for worker in self:
            worker.kill()
            print(f"--- {worker.log_path.name} (exit {worker.process.returncode})")
            print(worker.log_tail())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ThrowawayRedis:
    """A redis-server of our own on a free loopback port: restartable without disturbing
    the shared one."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

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
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class RabbitVhost:
    """A RabbitMQ virtual host of our own (queues, exchanges, remote control), so parallel
    test runs on one broker never take each other's messages."""

    def __init__(self) -> None:
        self.name = f"sv-test-{uuid.uuid4().hex[:12]}"
        _rabbitmqctl("add_vhost", self.name)
        _rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")

    @property
    def url(self) -> str:
        return f"{AMQP_SERVER}/{self.name}"

    def delete(self) -> None:
        _rabbitmqctl("delete_vhost", self.name)


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)
