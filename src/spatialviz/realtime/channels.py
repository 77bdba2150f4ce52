"""Channel kinds a WebSocket client may subscribe to (``job:<id>``, later ``scene:<id>``).

Each domain registers a snapshot function for its prefix: given the id, it returns the
current-state message and the workspace it belongs to, or None when there is no such
object. The read is not per caller: one snapshot serves every subscriber of the channel
(realtime/hub.py), and each subscriber's access is checked against ``workspace_id`` with
the roles its token carried, so another workspace's object is "not_found", as over HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from spatialviz.kit.resources import Resources


@dataclass(frozen=True)
class Snapshot:
    workspace_id: uuid.UUID
    message: bytes
    final: bool  # nothing will change any more: the server stops following the channel


SnapshotFn = Callable[[Resources, str], Awaitable[Snapshot | None]]

_CHANNELS: dict[str, SnapshotFn] = {}


def register_channel(prefix: str, snapshot: SnapshotFn) -> None:
    _CHANNELS[prefix] = snapshot


def snapshot_for(channel: str) -> tuple[SnapshotFn, str] | None:
    prefix, sep, ident = channel.partition(":")
    fn = _CHANNELS.get(prefix)
    if not sep or not ident or fn is None:
        return None
    return fn, ident
