"""Network namespaces, veth pairs and bridges with iproute2, and connecting from Python into
a namespace (for readiness checks and the tests)."""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import threading
from pathlib import Path

from spatialviz.stack.layout import (
    EDGE,
    EDGE_ADDRESS,
    HOSTS,
    NETWORK,
    OUTSIDE_ADDRESS,
    OUTSIDE_LINK,
    PREFIX,
    SEGMENTS,
    SWITCH,
)

NETNS_DIR = Path("/run/netns")
_CLONE_NEWNET = 0x40000000


class NetworkError(RuntimeError):
    """An iproute2 command failed; the message carries what it printed."""


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise NetworkError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


def existing() -> list[str]:
    """The stack's namespaces that exist now."""
    result = ip("netns", "list", check=False)
    names = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    return [name for name in names if name.startswith(PREFIX)]


def create() -> None:
    """Every namespace, the three segment bridges (inside the switch namespace, so the root
    namespace has no interface on them) and the outside link to nginx."""
    for netns in (SWITCH, *(host.netns for host in HOSTS)):
        ip("netns", "add", netns)
        ip("-n", netns, "link", "set", "lo", "up")
    for segment in SEGMENTS:
        ip("-n", SWITCH, "link", "add", f"br-{segment}", "type", "bridge")
        ip("-n", SWITCH, "link", "set", f"br-{segment}", "up")
    for host in HOSTS:
        for segment in host.segments:
            port = f"{segment[0]}-{host.name}"  # the bridge port, e.g. d-api1
            ip("-n", SWITCH, "link", "add", port, "type", "veth", "peer", "name", segment,
               "netns", host.netns)  # fmt: skip
            ip("-n", SWITCH, "link", "set", port, "master", f"br-{segment}", "up")
            ip("-n", host.netns, "addr", "add", f"{host.address(segment)}/24", "dev", segment)
            ip("-n", host.netns, "link", "set", segment, "up")
    ip("link", "add", OUTSIDE_LINK, "type", "veth", "peer", "name", "outside", "netns", EDGE.netns)
    ip("addr", "add", f"{OUTSIDE_ADDRESS}/30", "dev", OUTSIDE_LINK)
    ip("link", "set", OUTSIDE_LINK, "up")
    ip("-n", EDGE.netns, "addr", "add", f"{EDGE_ADDRESS}/30", "dev", "outside")
    ip("-n", EDGE.netns, "link", "set", "outside", "up")
    # Everything else in the stack's range is unreachable from outside: without this route a
    # packet for, say, PostgreSQL's address would leave through the default gateway.
    ip("route", "replace", "unreachable", NETWORK)


def remove() -> None:
    """Deletes the namespaces (their veths and bridges go with them), the outside link and
    the route. Processes must be gone first: a namespace lives on while one is inside."""
    for netns in existing():
        ip("netns", "delete", netns, check=False)
    ip("link", "delete", OUTSIDE_LINK, check=False)
    ip("route", "delete", "unreachable", NETWORK, check=False)


def pids(netns: str) -> list[int]:
    result = ip("netns", "pids", netns, check=False)
    return [int(pid) for pid in result.stdout.split()]


def guarded() -> bool:
    """Whether the route that keeps packets for the stack's range on this machine is in
    place (checked before probing the stack's inner addresses from outside)."""
    return NETWORK in ip("route", "show", "type", "unreachable", check=False).stdout


def leftovers() -> list[str]:
    """What of the stack's network is still there (empty when it is all gone)."""
    found = [f"netns {name}" for name in existing()]
    if ip("link", "show", OUTSIDE_LINK, check=False).returncode == 0:
        found.append(f"link {OUTSIDE_LINK}")
    if guarded():
        found.append(f"route unreachable {NETWORK}")
    return found


class _Action:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.error: BaseException | None = None

    def __call__(self) -> None:
        try:
            self.sock = socket.create_connection(self.address, timeout=self.timeout)
        except BaseException as error:  # handed to the caller's thread
            self.error = error


def _in_netns(netns: str, action: _Action) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        fd = os.open(NETNS_DIR / netns, os.O_RDONLY)
    except OSError as error:
        action.error = error
        return
    try:
        # setns applies to the calling thread only: this thread is thrown away afterwards,
        # and a socket keeps the namespace it was made in.
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            action.error = OSError(ctypes.get_errno(), f"setns into {netns} failed")
            return
    finally:
        os.close(fd)
    action()


def connect(netns: str | None, host: str, port: int, timeout: float = 2.0) -> socket.socket:
    """A TCP connection to host:port made from inside ``netns`` (None: this namespace).
    Raises OSError when it cannot be made."""
    if netns is None:
        return socket.create_connection((host, port), timeout=timeout)
    action = _Action(host, port, timeout)
    thread = threading.Thread(target=_in_netns, args=(netns, action), daemon=True)
    thread.start()
    thread.join()
    if action.error is not None:
        raise action.error
    if action.sock is None:
        raise OSError(f"could not enter {netns}")
    return action.sock


def reachable(netns: str | None, host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        connect(netns, host, port, timeout).close()
        return True
    except OSError:
        return False
