"""Looking at the processes a test started (a Gunicorn master's workers, a Celery worker's
pool)."""

from __future__ import annotations

import contextlib

import psutil


def live_children(parent: psutil.Process) -> set[int]:
    """The pids of ``parent``'s children that are alive now. A child listed may be gone by
    the time its state is read (a worker being replaced, a pool process just killed): it is
    left out, as a zombie is, instead of failing the look."""
    alive: set[int] = set()
    for child in parent.children():
        with contextlib.suppress(psutil.NoSuchProcess):
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.add(child.pid)
    return alive
