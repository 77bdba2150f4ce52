"""WS /api/v1/ws — one socket per client, many channels. Protocol: docs/websocket.md.

Each subscription joins its channel's shared feed (realtime/hub.py: one pub/sub subscription
and one cached snapshot per channel, however many subscribers), so subscribers cost no
database connections. Outgoing messages go through a bounded buffer: a client that does
not read loses older state messages (each one is a complete state), never the server's
memory. A dependency that is down is said in-protocol (``unavailable``, naming it, with
``retry_after``), never by a dropped socket.

A share link connects with ``?share=<token>`` instead of ``?token=``: it may follow only the
channels registered ``for_share`` (realtime/channels.py) of its own scene, read-only, and
its socket is closed once the link expires or is revoked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from spatialviz.auth import grants
from spatialviz.auth.deps import authenticate_bearer, recheck_principal
from spatialviz.kit.errors import SpatialvizError
from spatialviz.kit.outages import Outage, outage_of
from spatialviz.kit.resources import Resources
from spatialviz.kit.tenancy import Principal
from spatialviz.models.workspace import Role
from spatialviz.realtime.channels import (
    ChannelKind,
    Snapshot,
    channel_kind,
    verify_share_token,
)
from spatialviz.realtime.hub import ChannelHub, Feed, hub_of
from spatialviz.signing.signatures import GrantKind

log = structlog.get_logger(__name__)
router = APIRouter()

PROTOCOL_VERSION = 1
MAX_CLIENT_MESSAGE_BYTES = 4096
MAX_SUBSCRIPTIONS = 64
SEND_BUFFER_MESSAGES = 64
#: How often a socket checks that its access still stands: a share link not expired or
#: revoked; a member's session not revoked, user not disabled, each followed channel's
#: workspace still theirs.
SHARE_RECHECK_SECONDS = 5.0
MEMBER_RECHECK_SECONDS = 5.0


@dataclass(frozen=True)
class ShareReader:
    """A share link's holder: reads its own scene's share-readable channels, nothing else."""

    scene_id: uuid.UUID
    share_id: uuid.UUID
    expires_at: int

    def reaches(self, ident: str) -> bool:
        try:
            return uuid.UUID(ident) == self.scene_id
        except ValueError:
            return False


Reader = Principal | ShareReader


class Connection:
    def __init__(self, ws: WebSocket, hub: ChannelHub, principal: Reader) -> None:
        self.ws, self.hub, self.principal = ws, hub, principal
        self.outbox: asyncio.Queue[bytes | str] = asyncio.Queue(SEND_BUFFER_MESSAGES)
        self.subscriptions: dict[str, asyncio.Task[None]] = {}
        self.workspaces: dict[str, uuid.UUID] = {}  # a followed channel's workspace

    def send(self, message: bytes | str | dict[str, Any]) -> None:
        if isinstance(message, dict):
            message = json.dumps(message, separators=(",", ":"))
        if self.outbox.full():
            self.outbox.get_nowait()  # the slowest client loses the oldest message
        self.outbox.put_nowait(message)

    async def writer(self) -> None:
        while True:
            message = await self.outbox.get()
            text = message.decode() if isinstance(message, bytes) else message
            await self.ws.send_text(text)

    async def subscribe(self, channel: str) -> None:
        if channel in self.subscriptions:
            return
        found = channel_kind(channel)
        if found is None:
            self.send({"type": "error", "code": "unknown_channel", "channel": channel})
            return
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            self.send({"type": "error", "code": "too_many_subscriptions", "channel": channel})
            return
        kind, ident = found
        if isinstance(self.principal, ShareReader) and not (
            kind.for_share is not None and self.principal.reaches(ident)
        ):
            # As another workspace's object is: nothing said about whether it exists.
            self.send({"type": "error", "code": "not_found", "channel": channel})
            return
        ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._follow(channel, kind, ident, ready))
        self.subscriptions[channel] = task
        task.add_done_callback(lambda _: self._forget(channel))
        if not await ready:
            await asyncio.gather(task, return_exceptions=True)

    async def _follow(
        self, channel: str, kind: ChannelKind, ident: str, ready: asyncio.Future[bool]
    ) -> None:
        try:
            async with self.hub.join(channel, kind.snapshot, ident) as feed:
                await self._relay(channel, feed, kind, ready)
        except Exception as exc:
            log.warning("ws_channel_failed", channel=channel, error=repr(exc))
            self._failed(channel, exc)
        finally:
            if not ready.done():
                ready.set_result(False)

    def _forget(self, channel: str) -> None:
        self.subscriptions.pop(channel, None)
        self.workspaces.pop(channel, None)

    def reauthorised(self, principal: Principal) -> None:
        """The member's access as it stands now: channels of workspaces no longer theirs
        end as a channel they never had access to does."""
        self.principal = principal
        for channel, workspace_id in list(self.workspaces.items()):
            if not principal.can(workspace_id, Role.viewer):
                self.unsubscribe(channel)
                self.send({"type": "error", "code": "not_found", "channel": channel})

    def _may_read(self, snapshot: Snapshot) -> bool:
        if isinstance(self.principal, ShareReader):
            return True  # its own scene's channel, checked on subscribe
        return self.principal.can(snapshot.workspace_id, Role.viewer)

    async def _relay(
        self, channel: str, feed: Feed, kind: ChannelKind, ready: asyncio.Future[bool]
    ) -> None:
        await feed.loaded.wait()
        snapshot = feed.latest
        if feed.failure is not None:
            self._failed(channel, feed.failure)
            return
        if snapshot is None or not self._may_read(snapshot):
            self.send({"type": "error", "code": "not_found", "channel": channel})
            return
        shown = kind.for_share if isinstance(self.principal, ShareReader) else None
        self.workspaces[channel] = snapshot.workspace_id
        self.send({"type": "subscribed", "channel": channel})
        self.send(shown(snapshot.message) if shown else snapshot.message)
        ready.set_result(True)
        if snapshot.final:
            return
        done = asyncio.Event()

        def deliver(update: Snapshot | None) -> None:
            if update is not None:
                self.send(shown(update.message) if shown else update.message)
            if update is None or update.final:
                done.set()

        feed.listeners.add(deliver)
        try:
            await done.wait()
        finally:
            feed.listeners.discard(deliver)
        if feed.failure is not None:
            self._failed(channel, feed.failure)

    def _failed(self, channel: str, exc: BaseException) -> None:
        outage = outage_of(exc)
        if outage is None:
            self.send({"type": "error", "code": "channel_failed", "channel": channel})
        else:
            self.send({**_unavailable(outage), "channel": channel})

    def unsubscribe(self, channel: str) -> None:
        self.workspaces.pop(channel, None)
        task = self.subscriptions.pop(channel, None)
        if task is not None:
            task.cancel()

    async def aclose(self) -> None:
        tasks = list(self.subscriptions.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _unavailable(outage: Outage) -> dict[str, Any]:
    return {
        "type": "error",
        "code": "unavailable",
        "dependency": outage.dependency,
        "retry_after": outage.retry_after,
    }


async def _authenticate(ws: WebSocket, hub: ChannelHub) -> Reader | None:
    share = ws.query_params.get("share")
    if share is not None:
        return await _authenticate_share(share, hub)
    token = ws.query_params.get("token", "")
    resources = hub.resources
    async with hub.sign_ins, resources.sessions() as session:
        try:
            principal = await authenticate_bearer(resources, session, token)
            await session.commit()
        except SpatialvizError:
            return None
    return principal


async def _share_alive(reader: ShareReader, hub: ChannelHub) -> bool:
    """The link neither expired nor revoked (its grant state, cached for a few seconds)."""
    if time.time() >= reader.expires_at:
        return False
    resources = hub.resources
    async with resources.sessions() as session:
        state = await grants.state(
            session, resources.cache, resources.settings, GrantKind.share, reader.share_id
        )
    return state.alive_at(time.time()) is not None


async def _authenticate_share(token: str, hub: ChannelHub) -> ShareReader | None:
    if len(token) > 200:
        return None
    try:
        # Proven (MAC) before anything is looked up, as over HTTP.
        proven = verify_share_token(token, hub.resources.settings)
    except SpatialvizError:
        return None
    if proven is None:
        return None
    reader = ShareReader(proven.scene_id, proven.share_id, proven.expires_at)
    async with hub.sign_ins:
        return reader if await _share_alive(reader, hub) else None


class _Rechecks:
    """One socket's access rechecks while a dependency is down: the socket stays as it was,
    and the log says so once per outage (not at every recheck of every socket)."""

    def __init__(self) -> None:
        self.unchecked = False

    def cannot_tell_now(self, exc: Exception) -> bool:
        outage = outage_of(exc)
        if outage is None:
            return False
        if not self.unchecked:
            log.warning("socket_access_unchecked", dependency=outage.dependency)
            self.unchecked = True
        return True

    def checked(self) -> None:
        if self.unchecked:
            log.info("socket_access_checked_again")
            self.unchecked = False


async def _close_when_share_ends(ws: WebSocket, reader: ShareReader, hub: ChannelHub) -> None:
    """Ends a share link's socket once the link expires or is revoked."""
    rechecks = _Rechecks()
    while True:
        left = reader.expires_at - time.time()
        await asyncio.sleep(max(0.0, min(SHARE_RECHECK_SECONDS, left)))
        try:
            alive = await _share_alive(reader, hub)
        except Exception as exc:
            if not rechecks.cannot_tell_now(exc):
                raise
            continue  # ask again at the next check
        rechecks.checked()
        if not alive:
            await ws.send_text(json.dumps({"type": "error", "code": "share_ended"}))
            await ws.close(code=status.WS_1008_POLICY_VIOLATION, reason="share link ended")
            return


async def _follow_member_access(conn: Connection, token: str, hub: ChannelHub) -> None:
    """Keeps a member's socket to what the member may read now: closes it once the session
    is revoked or the user disabled, and ends channels of workspaces left since."""
    rechecks = _Rechecks()
    while True:
        # Spread: sockets opened together (a page reload of many viewers) recheck apart.
        await asyncio.sleep(MEMBER_RECHECK_SECONDS * random.uniform(0.8, 1.0))
        assert isinstance(conn.principal, Principal)
        resources = hub.resources
        try:
            async with hub.sign_ins, resources.sessions() as session:
                principal = await recheck_principal(resources, session, token, conn.principal)
        except SpatialvizError:
            await conn.ws.send_text(json.dumps({"type": "error", "code": "access_ended"}))
            await conn.ws.close(code=status.WS_1008_POLICY_VIOLATION, reason="access ended")
            return
        except Exception as exc:
            if not rechecks.cannot_tell_now(exc):
                raise
            continue  # ask again at the next check
        rechecks.checked()
        conn.reauthorised(principal)


async def _closed_if_it_fails(ws: WebSocket, watch: Coroutine[Any, Any, None]) -> None:
    """Runs a socket's access watch. A watch that fails (anything but a dependency down)
    closes the socket: access that can no longer be checked is not kept. The client opens
    a new one and is authenticated anew."""
    try:
        await watch
    except Exception:
        log.exception("socket_access_check_failed")
        with contextlib.suppress(Exception):  # the socket may be gone already
            await ws.close(code=status.WS_1011_INTERNAL_ERROR, reason="access check failed")


@router.websocket("/api/v1/ws")
async def websocket_endpoint(ws: WebSocket) -> None:
    resources: Resources = ws.app.state.resources
    hub = hub_of(ws.app.state, resources)
    try:
        principal = await _authenticate(ws, hub)
    except Exception as exc:
        outage = outage_of(exc)
        if outage is None:
            raise
        # Said in-protocol, so a client knows to come back rather than that it is refused.
        await ws.accept()
        await ws.send_text(json.dumps(_unavailable(outage)))
        await ws.close(code=status.WS_1013_TRY_AGAIN_LATER, reason=f"{outage.dependency} down")
        return
    if principal is None:
        await ws.close(code=status.WS_1008_POLICY_VIOLATION, reason="unauthorized")
        return
    await ws.accept()
    conn = Connection(ws, hub, principal)
    conn.send({"type": "hello", "protocol": PROTOCOL_VERSION})
    writer = asyncio.create_task(conn.writer())
    watch = asyncio.create_task(
        _closed_if_it_fails(
            ws,
            _close_when_share_ends(ws, principal, hub)
            if isinstance(principal, ShareReader)
            else _follow_member_access(conn, ws.query_params.get("token", ""), hub),
        )
    )
    try:
        while True:
            raw = await ws.receive_text()
            if len(raw.encode()) > MAX_CLIENT_MESSAGE_BYTES:
                await ws.close(code=status.WS_1009_MESSAGE_TOO_BIG, reason="message too big")
                return
            await _handle(conn, raw)
    except WebSocketDisconnect:
        pass
    finally:
        for task in (writer, watch):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await conn.aclose()


async def _handle(conn: Connection, raw: str) -> None:
    try:
        message = json.loads(raw)
        kind = message["type"]
    except (ValueError, KeyError, TypeError):
        conn.send({"type": "error", "code": "bad_message"})
        return
    channel = message.get("channel")
    if kind == "ping":
        conn.send({"type": "pong"})
    elif kind == "subscribe" and isinstance(channel, str) and len(channel) <= 200:
        await conn.subscribe(channel)
    elif kind == "unsubscribe" and isinstance(channel, str):
        conn.unsubscribe(channel)
        conn.send({"type": "unsubscribed", "channel": channel})
    else:
        conn.send({"type": "error", "code": "bad_message"})
