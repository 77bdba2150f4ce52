"""One feed per channel, shared by every subscriber of it in this process.

A feed subscribes to the channel's pub/sub once, reads the current state once (after
subscribing, so nothing falls between the two), keeps the latest snapshot, re-reads it every
few seconds (catching a message lost while Redis restarted) and hands each change to its
subscribers. So 1,000 subscribers to one job cost one pub/sub subscription and one database
read every ``RESYNC_SECONDS``, exactly as one subscriber does. A final snapshot is kept for
``FINAL_KEEP_SECONDS`` so that late subscribers need no read at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import structlog

from spatialviz.kit.outages import outage_of
from spatialviz.kit.resources import Resources
from spatialviz.realtime.channels import Snapshot, SnapshotFn

log = structlog.get_logger(__name__)

RESYNC_SECONDS = 5.0
FINAL_KEEP_SECONDS = 30.0
#: WebSocket sign-ins that may read the database at once: a burst of connecting clients
#: waits here instead of taking the pool the HTTP API needs.
SIGN_IN_CONCURRENCY = 2

Listener = Callable[[Snapshot | None], None]
"""Called with each new snapshot, and with None when the feed ends without a final one."""


class Feed:
    def __init__(self, resources: Resources, channel: str, fn: SnapshotFn, ident: str) -> None:
        self.resources, self.channel, self._fn, self._ident = resources, channel, fn, ident
        self.latest: Snapshot | None = None
        self.failure: BaseException | None = None
        self.loaded = asyncio.Event()
        self.ended = asyncio.Event()
        self.listeners: set[Listener] = set()
        self.members = 0
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        try:
            async with self.resources.pubsub.subscribe(self.channel) as messages:
                self.latest = await self._fn(self.resources, self._ident)
                self.loaded.set()
                if self.latest is not None and not self.latest.final:
                    await self._follow(messages)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.failure = exc
            log.warning("ws_feed_failed", channel=self.channel, error=repr(exc)[:300])
        finally:
            self.loaded.set()
            self.ended.set()
            if self.latest is None or not self.latest.final:
                self._tell(None)

    async def _forward(self, messages: AsyncIterator[tuple[str, bytes]]) -> None:
        """Published states, as they come; ends at the final one."""
        async for _, data in messages:
            assert self.latest is not None
            self._update(Snapshot(self.latest.workspace_id, data, _is_final(data)))
            if self.latest.final:
                return

    async def _resync(self) -> None:
        """The state re-read now and then (a missed publish is caught up); ends at the final
        state or when the object is deleted."""
        while True:
            await asyncio.sleep(RESYNC_SECONDS)
            try:
                snapshot = await self._fn(self.resources, self._ident)
            except Exception as exc:
                if outage_of(exc) is None:
                    raise
                continue  # pub/sub still delivers; a later resync catches up
            if snapshot is None:
                self.latest = None  # deleted: subscribers are told the feed ended
                return
            self._update(snapshot)
            if snapshot.final:
                return

    async def _follow(self, messages: AsyncIterator[tuple[str, bytes]]) -> None:
        settled = asyncio.Event()  # final state reached, object deleted, or a reader failed
        tasks = [asyncio.create_task(self._forward(messages)), asyncio.create_task(self._resync())]
        for task in tasks:
            task.add_done_callback(lambda _: settled.set())
        try:
            await settled.wait()
        finally:
            for task in tasks:
                task.cancel()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                raise outcome

    def _update(self, snapshot: Snapshot) -> None:
        if self.latest is not None and snapshot.message == self.latest.message:
            return
        self.latest = snapshot
        self._tell(snapshot)

    def _tell(self, snapshot: Snapshot | None) -> None:
        for listener in list(self.listeners):
            listener(snapshot)


class ChannelHub:
    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self.feeds: dict[str, Feed] = {}
        self.sign_ins = asyncio.Semaphore(SIGN_IN_CONCURRENCY)

    @contextlib.asynccontextmanager
    async def join(self, channel: str, fn: SnapshotFn, ident: str) -> AsyncIterator[Feed]:
        """The channel's feed, started if need be; the last member to leave stops it."""
        feed = self.feeds.get(channel)
        if feed is None:
            feed = Feed(self.resources, channel, fn, ident)
            self.feeds[channel] = feed
            feed.task = asyncio.create_task(feed.run(), name=f"ws-feed-{channel}")
            feed.task.add_done_callback(functools.partial(self._ended, feed))
        feed.members += 1
        try:
            yield feed
        finally:
            feed.members -= 1
            if feed.members == 0 and not feed.ended.is_set() and feed.task is not None:
                feed.task.cancel()

    def _ended(self, feed: Feed, _task: object = None) -> None:
        if self.feeds.get(feed.channel) is not feed:
            return
        if feed.latest is not None and feed.latest.final and feed.failure is None:
            asyncio.get_running_loop().call_later(FINAL_KEEP_SECONDS, self._forget, feed)
        else:
            self._forget(feed)  # the next subscriber reads afresh

    def _forget(self, feed: Feed) -> None:
        if self.feeds.get(feed.channel) is feed:
            del self.feeds[feed.channel]


def hub_of(state: Any, resources: Resources) -> ChannelHub:
    """The app's hub, made on first use (inside the running loop)."""
    hub: ChannelHub | None = getattr(state, "channel_hub", None)
    if hub is None or hub.resources is not resources:
        hub = ChannelHub(resources)
        state.channel_hub = hub
    return hub


def _is_final(data: bytes) -> bool:
    try:
        state = json.loads(data)["job"]["status"]
    except (ValueError, KeyError, TypeError):
        return False
    return state in ("succeeded", "failed", "cancelled")
