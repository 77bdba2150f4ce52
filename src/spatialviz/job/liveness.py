"""Who runs a job, and whether that process is still there.

A worker names itself ``host:pid:start`` (``start``: the process's start time in clock
ticks since boot, so a recycled pid is not mistaken for the worker). A reaper on the same
host can then tell for certain whether the worker is alive or gone; elsewhere it cannot
tell and must rely on the heartbeat alone, with a wide margin, because a busy machine
delays heartbeats of perfectly live workers.
"""

from __future__ import annotations

import enum
import os
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from spatialviz.config import Settings


class Liveness(enum.Enum):
    alive = "alive"
    gone = "gone"
    unknown = "unknown"


def _start_ticks(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat; None when the process is gone (or no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # a zombie has finished running: it holds no job
        return None
    return fields[19]


def process_identity(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or '?'}"


def liveness(worker: str | None) -> Liveness:
    if not worker or worker.count(":") < 2:
        return Liveness.unknown
    host, pid_text, start = worker.rsplit(":", 2)
    if host != socket.gethostname() or not pid_text.isdigit() or start == "?":
        return Liveness.unknown
    if not Path("/proc/self/stat").exists():
        return Liveness.unknown
    return Liveness.alive if _start_ticks(int(pid_text)) == start else Liveness.gone


def is_lost(
    worker: str | None, heartbeat_at: datetime | None, now: datetime, settings: Settings
) -> bool:
    """Whether the work a heartbeat belongs to may be taken from its worker.

    A worker known to be alive keeps its work, however late its heartbeat (the machine may
    just be busy); one known to be gone loses it once a heartbeat is overdue
    (``jobs_lost_after_seconds``); one we cannot see loses it only once the heartbeat is
    older than the wide ``jobs_stale_after_seconds``."""
    if heartbeat_at is None:
        return False
    age = now - heartbeat_at
    state = liveness(worker)
    if state is Liveness.alive:
        return False
    if state is Liveness.gone:
        return age > timedelta(seconds=settings.jobs_lost_after_seconds)
    return age > timedelta(seconds=settings.jobs_stale_after_seconds)


def redelivery_verdict(
    worker: str | None, heartbeat_at: datetime | None, now: datetime, heartbeat_seconds: float
) -> Literal["take", "keep", "later"]:
    """The broker handed back work another run holds: its consumer's connection died
    (RabbitMQ) or its pool process did. Take the work once the holder is known gone or
    has missed three heartbeats; never from a holder this host sees alive; otherwise look
    again a heartbeat later. (A redelivery alone is no proof: a live worker whose broker
    connection dropped keeps running, and its heartbeats keep its work.)"""
    state = liveness(worker)
    if state is Liveness.alive:
        return "keep"
    if state is Liveness.gone:
        return "take"
    if heartbeat_at is not None and now - heartbeat_at > timedelta(seconds=3 * heartbeat_seconds):
        return "take"
    return "later"
