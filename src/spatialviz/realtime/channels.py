"""Channel kinds a WebSocket client may subscribe to (``job:<id>``, later ``scene:<id>``).

Each domain registers a snapshot function for its prefix: given the caller and the id, it
returns the current-state message (access checked through the workspace), or None when the
caller may not see it (the client is told "not_found", exactly as over HTTP).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from spatialviz.kit.resources import Resources
from spatialviz.kit.tenancy import Principal


@dataclass(frozen=True)
class Snapshot:
    message: bytes
    final: bool  # nothing will change any more: the server stops following the channel


SnapshotFn = Callable[[Resources, Principal, str], Awaitable[Snapshot | None]]

_CHANNELS: dict[str, SnapshotFn] = {}


def register_channel(prefix: str, snapshot: SnapshotFn) -> None:
    _CHANNELS[prefix] = snapshot


def snapshot_for(channel: str) -> tuple[SnapshotFn, str] | None:
    prefix, sep, ident = channel.partition(":")
    fn = _CHANNELS.get(prefix)
    if not sep or not ident or fn is None:
        return None
    return fn, ident
