"""The rules for a server a test starts on a fixed loopback port (the private Redis Cluster,
Redis Sentinel and PostgreSQL servers).

A fixed port outlives a careless run: when a test process is killed outright (a CI time
limit, an interrupted parallel run whose worker processes were killed with SIGKILL), its
fixtures' teardown never runs, and the servers it started kept their ports. The next run's
servers then failed to start, or the old ones answered in their place (a Redis node of the
old cluster refuses to join a new one), and the tests errored far from the cause.

So every such server is started through ``setpriv --pdeathsig KILL`` (util-linux): the
kernel kills it when the test process that started it dies, however it dies. And before it
starts, a port that is still taken stops the fixture with a message that names the port and
how to find its owner, instead of a failure three steps later.
"""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Callable, Iterable, Sequence


def dies_with_this_process(command: Sequence[str], *, run_as: str | None = None) -> list[str]:
    """``command`` wrapped so the kernel sends it SIGKILL when this process dies.

    The death signal follows the thread that starts the child: start it from the thread
    that lives as long as the server must (a fixture's, the main thread under pytest and
    pytest-xdist). ``run_as`` switches to that system user first (setpriv, not runuser:
    runuser forks, and the server would be runuser's child, not ours, and survive).
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise RuntimeError("setpriv is needed to tie a server to its test (Debian: util-linux)")
    switch = ["--reuid", run_as, "--regid", run_as, "--init-groups"] if run_as else []
    return [setpriv, *switch, "--pdeathsig", "KILL", "--", *command]


def refuse_taken_ports(what: str, ports: Iterable[int], setting: str) -> None:
    """Stop with a clear message if something already listens on one of ``ports``."""
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As the servers do: so a closed connection's TIME_WAIT does not count as taken,
            # only a listener does.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as error:
                raise RuntimeError(
                    f"{what}: port {port} on 127.0.0.1 is taken ({error.strerror}), most likely"
                    f" by a server left behind by an earlier test run. `ss -ltnp 'sport = :{port}'`"
                    f" names the process; stop it, or set {setting} to another base port."
                ) from None


def wait_until_up(what: str, ready: Callable[[], bool], within: float) -> None:
    """Poll ``ready`` until it holds; ``within`` bounds a server that failed to start (it is
    not a timing claim)."""
    deadline = time.monotonic() + within
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not up within {within:.0f} s")
        time.sleep(0.05)
