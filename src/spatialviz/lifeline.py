"""Pool processes die with the process that started them.

A process pool's workers outlive a server killed with SIGKILL (nothing runs in the dying
process to stop them): re-parented to init, they went on computing a dead server's work
for many minutes while the restarted server ran it again. Linux can tie a child's life to
its parent's: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, asked for by the child itself, which is
why this runs as a pool's ``initializer``. Pure standard library: usable from tiling/.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

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
