"""Pool processes die with the process that started them.

A process pool's workers outlive a server killed with SIGKILL (nothing runs in the dying
process to stop them): re-parented to init, they went on computing a dead server's work
for many minutes while the restarted server ran it again. Both helpers run in the child,
as a pool's ``initializer``. Pure standard library: usable from tiling/.

* :func:`die_with_parent`: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, for a direct child.
* :func:`die_with`: for a pool whose workers are not the owner's children (forkserver: the
  workers' parent is the fork server, which itself lives while any worker holds its
  "alive" pipe, so neither would ever go): a thread waits on a pidfd of the owner.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import sys
import threading

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> None:
    """SIGKILL this process as soon as its parent exits (a no-op outside Linux)."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(errno)}")
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def die_with(owner_pid: int) -> None:
    """SIGKILL this process as soon as process ``owner_pid`` exits (Linux ≥ 5.3)."""
    if not hasattr(os, "pidfd_open"):
        return
    try:
        pidfd = os.pidfd_open(owner_pid)
    except ProcessLookupError:  # already gone
        os._exit(1)

    def watch() -> None:
        select.select([pidfd], [], [])  # readable once the owner has exited
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()
