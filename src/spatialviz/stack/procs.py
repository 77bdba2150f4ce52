"""Starting the stack's processes inside their namespaces, waiting for them, and ending
them. Every process the stack starts runs inside one of its namespaces, so `down` finds
them all by namespace (``ip netns pids``) and ends exactly those, by id."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from spatialviz.stack import netns

SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
IP = shutil.which("ip", path=SYSTEM_PATH) or "ip"
RUNUSER = shutil.which("runuser", path=SYSTEM_PATH) or "runuser"


class StackError(RuntimeError):
    """A tier did not come up; the message says which and where its log is."""


def spawn(
    name: str,
    namespace: str,
    command: Sequence[str],
    logs: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> subprocess.Popen[bytes]:
    """Starts ``command`` in ``namespace`` in a session of its own, its output in
    ``logs/<name>.log``; returns without waiting."""
    logs.mkdir(parents=True, exist_ok=True)
    argv = [IP, "netns", "exec", namespace]
    if user is not None:
        argv += [RUNUSER, "-u", user, "--"]
    with (logs / f"{name}.log").open("ab") as log:
        return subprocess.Popen(
            [*argv, *command],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )


def run(
    namespace: str | None,
    command: Sequence[str],
    env: Mapping[str, str] | None = None,
    user: str | None = None,
    timeout: float = 120,
) -> str:
    """Runs ``command`` (in ``namespace``) to its end; its output, or StackError."""
    argv: list[str] = [] if namespace is None else [IP, "netns", "exec", namespace]
    if user is not None:
        argv += [RUNUSER, "-u", user, "--"]
    result = subprocess.run(
        [*argv, *command],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(env) if env is not None else None,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"{command[0]} failed: {(result.stderr or result.stdout).strip()}")
    return result.stdout


def wait_for_port(
    what: str,
    namespace: str | None,
    host: str,
    port: int,
    log: Path,
    process: subprocess.Popen[bytes] | None = None,
    timeout: float = 150,
) -> None:
    deadline = time.monotonic() + timeout
    while not netns.reachable(namespace, host, port, timeout=1):
        if process is not None and process.poll() is not None:
            raise StackError(f"{what} exited with {process.returncode}; see {log}")
        if time.monotonic() > deadline:
            raise StackError(
                f"{what} did not listen on {host}:{port} in {timeout:.0f} s; see {log}"
            )
        time.sleep(0.2)


def end_all(namespaces: Sequence[str], grace: float = 20) -> int:
    """SIGTERM to every process inside ``namespaces``, SIGKILL to those still there after
    ``grace`` seconds. Returns how many processes there were."""
    found = {pid for name in namespaces for pid in netns.pids(name)}
    for pid in found:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not any(netns.pids(name) for name in namespaces):
            return len(found)
        time.sleep(0.2)
    for name in namespaces:
        for pid in netns.pids(name):
            _signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(netns.pids(name) for name in namespaces) and time.monotonic() < deadline:
        time.sleep(0.1)
    return len(found)


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
        os.kill(pid, sig)
