"""WS /api/v1/ws — one socket per client, many channels. Protocol: docs/websocket.md.

Each subscription follows its channel on pub/sub (subscribed *before* the current state is
read, so nothing falls between the two) and re-reads the state now and then, so a message
lost while Redis restarted is caught up. Outgoing messages go through a bounded buffer: a
client that does not read loses older state messages (each one is a complete state), never
the server's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from spatialviz.auth.deps import authenticate_bearer
from spatialviz.kit.errors import SpatialvizError
from spatialviz.kit.resources import Resources
from spatialviz.kit.tenancy import Principal
from spatialviz.realtime.channels import Snapshot, SnapshotFn, snapshot_for

log = structlog.get_logger(__name__)
router = APIRouter()

PROTOCOL_VERSION = 1
MAX_CLIENT_MESSAGE_BYTES = 4096
MAX_SUBSCRIPTIONS = 64
SEND_BUFFER_MESSAGES = 64
RESYNC_SECONDS = 5.0


class Connection:
    def __init__(self, ws: WebSocket, resources: Resources, principal: Principal) -> None:
        self.ws, self.resources, self.principal = ws, resources, principal
        self.outbox: asyncio.Queue[bytes | str] = asyncio.Queue(SEND_BUFFER_MESSAGES)
        self.subscriptions: dict[str, asyncio.Task[None]] = {}

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
        found = snapshot_for(channel)
        if found is None:
            self.send({"type": "error", "code": "unknown_channel", "channel": channel})
            return
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            self.send({"type": "error", "code": "too_many_subscriptions", "channel": channel})
            return
        fn, ident = found
        ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._follow(channel, fn, ident, ready))
        self.subscriptions[channel] = task
        task.add_done_callback(lambda _: self.subscriptions.pop(channel, None))
        if not await ready:
            await asyncio.gather(task, return_exceptions=True)

    async def _follow(
        self, channel: str, fn: SnapshotFn, ident: str, ready: asyncio.Future[bool]
    ) -> None:
        try:
            async with self.resources.pubsub.subscribe(channel) as messages:
                snapshot = await fn(self.resources, self.principal, ident)
                if snapshot is None:
                    self.send({"type": "error", "code": "not_found", "channel": channel})
                    ready.set_result(False)
                    return
                self.send({"type": "subscribed", "channel": channel})
                self.send(snapshot.message)
                ready.set_result(True)
                if snapshot.final:
                    return
                await self._relay(messages, fn, ident, snapshot)
        except Exception as exc:
            log.warning("ws_channel_failed", channel=channel, error=repr(exc))
            self.send({"type": "error", "code": "channel_failed", "channel": channel})
        finally:
            if not ready.done():
                ready.set_result(False)

    async def _relay(self, messages: Any, fn: SnapshotFn, ident: str, last: Snapshot) -> None:
        done = asyncio.Event()
        sent = {"last": last.message}

        def deliver(message: bytes, final: bool) -> None:
            if message != sent["last"]:
                sent["last"] = message
                self.send(message)
            if final:
                done.set()

        async def forward() -> None:
            async for _, data in messages:
                deliver(data, _is_final(data))

        async def resync() -> None:
            while True:
                await asyncio.sleep(RESYNC_SECONDS)
                snapshot = await fn(self.resources, self.principal, ident)
                if snapshot is None:
                    done.set()
                    return
                deliver(snapshot.message, snapshot.final)

        tasks = [asyncio.create_task(forward()), asyncio.create_task(resync())]
        try:
            await done.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def unsubscribe(self, channel: str) -> None:
        task = self.subscriptions.pop(channel, None)
        if task is not None:
            task.cancel()

    async def aclose(self) -> None:
        tasks = list(self.subscriptions.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _is_final(data: bytes) -> bool:
    try:
        state = json.loads(data)["job"]["status"]
    except (ValueError, KeyError, TypeError):
        return False
    return state in ("succeeded", "failed", "cancelled")


async def _authenticate(ws: WebSocket, resources: Resources) -> Principal | None:
    token = ws.query_params.get("token", "")
    async with resources.sessions() as session:
        try:
            principal = await authenticate_bearer(resources, session, token)
            await session.commit()
        except SpatialvizError:
            return None
    return principal


@router.websocket("/api/v1/ws")
async def websocket_endpoint(ws: WebSocket) -> None:
    resources: Resources = ws.app.state.resources
    principal = await _authenticate(ws, resources)
    if principal is None:
        await ws.close(code=status.WS_1008_POLICY_VIOLATION, reason="unauthorized")
        return
    await ws.accept()
    conn = Connection(ws, resources, principal)
    conn.send({"type": "hello", "protocol": PROTOCOL_VERSION})
    writer = asyncio.create_task(conn.writer())
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
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer
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
