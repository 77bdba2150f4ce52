"""Channel kinds a WebSocket client may subscribe to (``job:<id>``, ``annotations:<scene_id>``).

Each domain registers a snapshot function for its prefix: given the id, it returns the
current-state message and the workspace it belongs to, or None when there is no such
object. The read is not per caller: one snapshot serves every subscriber of the channel
(realtime/hub.py), and each subscriber's access is checked against ``workspace_id`` with
the roles its token carried, so another workspace's object is "not_found", as over HTTP.

A kind registered with ``for_share`` may also be read through a share link, read-only and
only on the channel whose id is the link's own scene; ``for_share`` turns each message into
what a share link shows (as the HTTP routes do: no author names).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from spatialviz.config import Settings
from spatialviz.kit.resources import Resources
from spatialviz.signing.signatures import ShareToken


@dataclass(frozen=True)
class Snapshot:
    workspace_id: uuid.UUID
    message: bytes
    final: bool  # nothing will change any more: the server stops following the channel


SnapshotFn = Callable[[Resources, str], Awaitable[Snapshot | None]]
ShareView = Callable[[bytes], bytes]


@dataclass(frozen=True)
class ChannelKind:
    snapshot: SnapshotFn
    #: What a share link's holder gets of a message; None: share links may not subscribe.
    for_share: ShareView | None = None


_CHANNELS: dict[str, ChannelKind] = {}


def register_channel(
    prefix: str, snapshot: SnapshotFn, *, for_share: ShareView | None = None
) -> None:
    _CHANNELS[prefix] = ChannelKind(snapshot, for_share)


def channel_kind(channel: str) -> tuple[ChannelKind, str] | None:
    prefix, sep, ident = channel.partition(":")
    kind = _CHANNELS.get(prefix)
    if not sep or not ident or kind is None:
        return None
    return kind, ident


ShareVerifier = Callable[[str, Settings], ShareToken]
"""Proves a share token (MAC, expiry) or raises a SpatialvizError; registered by the scene
package (scene/sharing.py), which realtime does not import."""

_SHARE_VERIFIER: list[ShareVerifier] = []


def register_share_verifier(verify: ShareVerifier) -> None:
    _SHARE_VERIFIER[:] = [verify]


def verify_share_token(token: str, settings: Settings) -> ShareToken | None:
    """The proven token, or None when no verifier is registered (no share sockets then)."""
    return _SHARE_VERIFIER[0](token, settings) if _SHARE_VERIFIER else None
