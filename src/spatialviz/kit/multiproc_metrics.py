"""Prometheus metrics of a server made of several processes: Gunicorn's workers
(``spatialviz serve --workers N``) and Celery's prefork pool (``spatialviz worker``).

Each process has its own memory, so a scrape answered by one process would show that
process's counts only. prometheus_client's multiprocess mode instead has every process
write its samples to files in ``PROMETHEUS_MULTIPROC_DIR``; whichever process answers a
scrape aggregates all of them (:func:`aggregated_registry`). The launcher (the Gunicorn
master, the Celery main process) calls :func:`start_fresh_dir` before any process imports
prometheus_client: the library picks its value store once, at import, from that variable.

The directory is private to one server start: a directory reused across starts would add
the previous run's counts to this one's, and two servers sharing one would add up each
other's. A process that exits keeps its counters and histograms (their totals must not go
down); :func:`forget_process` drops its live gauges, which describe a process that is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Types only: importing prometheus_client here would fix its value store too early.
    from prometheus_client import CollectorRegistry
    from prometheus_client.registry import Collector

ENV = "PROMETHEUS_MULTIPROC_DIR"
_PREFIX = "spatialviz-metrics-"
_OWNER = re.compile(rf"^{_PREFIX}(\d+)-")
_LIVE_GAUGE_FILE = re.compile(r"^gauge_live\w+?_(\d+)\.db$")


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def start_fresh_dir() -> Path:
    """Make this server start's private directory and point ``PROMETHEUS_MULTIPROC_DIR`` at
    it, for this process and every process it forks or starts.

    It is made inside an inherited ``PROMETHEUS_MULTIPROC_DIR`` if there is one (an
    operator's choice of place, e.g. a tmpfs), else in the temporary directory. Directories
    left there by a server that died without cleaning up (``kill -9``) are removed first."""
    values = sys.modules.get("prometheus_client.values")
    if values is not None and not getattr(values.ValueClass, "_multiprocess", False):
        # Metrics made from here on would live in this process's memory only.
        raise RuntimeError("prometheus_client was imported before its multiprocess directory")
    base = Path(os.environ.get(ENV) or tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    _remove_dead_servers_dirs(base)
    # mkdtemp: a new name each time, mode 0700.
    path = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=base))
    os.environ[ENV] = str(path)
    return path


def remove_dir(path: Path, owner_pid: int) -> None:
    """At the server's exit. Forked children inherit exit handlers; only the process that
    made the directory removes it."""
    if os.getpid() == owner_pid:
        shutil.rmtree(path, ignore_errors=True)


def forget_process(pid: int, path: Path | None = None) -> None:
    """A process exited: its live gauges (``live*`` modes) no longer count. ``path``: the
    directory (default: ``PROMETHEUS_MULTIPROC_DIR``)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, str(path) if path else None)  # type: ignore[no-untyped-call]


def forget_dead_processes(path: Path) -> None:
    """For process managers that tell nobody when a child dies (Celery's prefork pool
    replaces a killed pool process silently): forget every process whose live gauges are
    on file but which is no longer running."""
    for pid in _pids(path.iterdir(), _LIVE_GAUGE_FILE):
        if not _running(pid):
            forget_process(pid, path)


def aggregated_registry(*collectors: Collector) -> CollectorRegistry:
    """A fresh registry that, when collected, reads every process's files (plus
    ``collectors``, computed by the process answering). Never the registry the metrics
    themselves are registered in: that one would repeat this process's samples."""
    from prometheus_client import CollectorRegistry, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    for collector in collectors:
        registry.register(collector)
    return registry


def _remove_dead_servers_dirs(base: Path) -> None:
    for entry in _owned_dirs(base):
        match = _OWNER.match(entry.name)
        if match and not _running(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


def _owned_dirs(base: Path) -> Iterator[Path]:
    for entry in base.iterdir():
        with contextlib.suppress(OSError):
            mine = entry.stat().st_uid == os.getuid()
            if mine and entry.is_dir() and entry.name.startswith(_PREFIX):
                yield entry


def _pids(entries: Iterable[Path], pattern: re.Pattern[str]) -> set[int]:
    return {int(m.group(1)) for entry in entries if (m := pattern.match(entry.name))}


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: running
    return True
