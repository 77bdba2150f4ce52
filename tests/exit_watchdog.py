"""The runner exits when it is done.

A thread or a process that a test leaves behind can keep the interpreter from exiting after
the summary line (a pool's manager thread joined at exit, a multiprocessing queue's feeder
thread): CI once waited 70 minutes there. At the end of the run this plugin names what is
still alive, and if the process has not exited ``EXIT_GRACE_SECONDS`` later it prints every
thread's stack and leaves with the session's own status, so a hang is reported, never waited
out.
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import sys
import threading

import pytest

EXIT_GRACE_SECONDS = 120.0

_finished: list[pytest.Session] = []


def pytest_sessionfinish(session: pytest.Session) -> None:
    _finished.append(session)


# tryfirst: the watch starts before any other plugin's unconfigure hook, which could hang too.
@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure() -> None:
    report = sys.__stderr__
    lingering = [
        thread
        for thread in threading.enumerate()
        if thread is not threading.main_thread() and not thread.daemon
    ]
    children = multiprocessing.active_children()
    if report is not None and (lingering or children):
        names = ", ".join(thread.name for thread in lingering) or "none"
        pids = ", ".join(f"{child.name} ({child.pid})" for child in children) or "none"
        report.write(f"\nexit watchdog: alive after the run: threads {names}; processes {pids}\n")
        report.flush()
    threading.Thread(target=_leave_if_stuck, name="exit-watchdog", daemon=True).start()
    # A backstop that needs no GIL: a stuck C call would also stop the thread above.
    faulthandler.dump_traceback_later(EXIT_GRACE_SECONDS * 2, exit=True)


def _leave_if_stuck() -> None:
    threading.Event().wait(EXIT_GRACE_SECONDS)
    report = sys.__stderr__
    if report is not None:
        report.write(
            f"\nexit watchdog: the test process did not exit {EXIT_GRACE_SECONDS:.0f} s after "
            "the run; every thread's stack follows, then it leaves with the run's status\n"
        )
        report.flush()
        faulthandler.dump_traceback(file=report, all_threads=True)
        report.flush()
    # The session's status as pytest would return it (a conftest hook may have changed it
    # after the summary's counts, e.g. the secret scan).
    os._exit(int(_finished[-1].exitstatus) if _finished else int(pytest.ExitCode.INTERNAL_ERROR))
