"""A pool's workers die with the process that owns them, even when it is killed outright:
the embedded runner's forkserver workers (``die_with``) and the tiling runner's spawned
ones (``die_with_parent``)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

OWNER = textwrap.dedent(
    """
    import multiprocessing, os, sys, time
    from concurrent.futures import ProcessPoolExecutor
    from spatialviz.lifeline import die_with, die_with_parent

    if __name__ == "__main__":
        how = sys.argv[1]
        context = multiprocessing.get_context(how)
        init, args = (die_with, (os.getpid(),)) if how == "forkserver" else (die_with_parent, ())
        pool = ProcessPoolExecutor(1, mp_context=context, initializer=init, initargs=args)
        print(pool.submit(os.getpid).result(), flush=True)
        pool.submit(time.sleep, 600)
        time.sleep(600)
    """
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pidfd and prctl are Linux")
@pytest.mark.parametrize("how", ["forkserver", "spawn"])
def test_workers_die_with_a_killed_owner(how: str) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, how], stdout=subprocess.PIPE, start_new_session=True
    )
    try:
        assert owner.stdout is not None
        worker = int(owner.stdout.readline())
        assert _alive(worker)
        owner.kill()
        owner.wait(30)
        deadline = time.monotonic() + 30
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(worker)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(owner.pid, signal.SIGKILL)
