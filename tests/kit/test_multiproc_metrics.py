"""The parts of multiprocess metrics a running server cannot show deterministically: a
pool process that vanished without telling anyone (Celery's prefork pool) leaves the live
gauges at the next scrape, but its counters stay; the directory is refused once
prometheus_client has chosen in-memory values. The servers themselves are tested in
tests/test_server_metrics.py."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from spatialviz.kit import multiproc_metrics


def _exited_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_a_vanished_process_leaves_the_live_gauges_and_keeps_its_counts(tmp_path: Path) -> None:
    gone, alive = _exited_pid(), os.getpid()
    names = [
        f"gauge_livesum_{gone}.db",
        f"gauge_livemostrecent_{gone}.db",
        f"counter_{gone}.db",
        f"histogram_{gone}.db",
        f"gauge_livesum_{alive}.db",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    multiproc_metrics.forget_dead_processes(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [f"counter_{gone}.db", f"histogram_{gone}.db", f"gauge_livesum_{alive}.db"]
    )


def test_the_directory_must_come_before_prometheus_client(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # This test process imported prometheus_client without the variable: its metrics
    # live in memory, and a directory set now would be ignored.
    import prometheus_client  # noqa: F401

    monkeypatch.setenv(multiproc_metrics.ENV, str(tmp_path))
    with pytest.raises(RuntimeError, match="imported before"):
        multiproc_metrics.start_fresh_dir()
    assert list(tmp_path.iterdir()) == []
