"""Pub/sub messages from the embedded runner's pool processes to the app, when there is no
Redis: the processes put them on a multiprocessing queue, and a thread of the app publishes
them on its in-process pub/sub.

One queue per pool. The writers of a multiprocessing queue share one lock, and a process
killed while writing (an OOM kill, a pool torn down mid-job) holds it for good: every later
writer would wait on it for ever, and a process whose writer thread waits cannot exit. So a
pool that breaks gets a new queue with its new processes, and the app never writes to a
queue itself (a "stop" message would make the app such a writer): the reading thread looks
for a stop between messages instead.
"""

from __future__ import annotations

import asyncio
import threading
from multiprocessing.context import BaseContext
from queue import Empty
from typing import Any

from spatialviz.kit.cache import PubSub

#: How often the reading thread looks for a stop when no message comes.
WAKE_SECONDS = 0.5
#: How long closing waits for the thread. A message half-written by a killed process can
#: hold it in its read for good; it is a daemon thread, so it does not hold the exit.
JOIN_SECONDS = 5.0


class MessageForwarder:
    """One pool's queue and the app thread that publishes what comes through it."""

    def __init__(self, context: BaseContext, loop: asyncio.AbstractEventLoop, pubsub: PubSub):
        self.queue: Any = context.Queue()
        self._loop = loop
        self._pubsub = pubsub
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="job-forwarder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    channel, message = self.queue.get(timeout=WAKE_SECONDS)
                except Empty:
                    continue
                publish = self._pubsub.publish(channel, message)
                try:
                    asyncio.run_coroutine_threadsafe(publish, self._loop)
                except RuntimeError:  # the loop has closed
                    publish.close()
                    return
        finally:
            self.queue.close()  # the reading end; only this thread reads

    def stop(self) -> None:
        """Stop reading (a broken pool's queue: its processes are gone)."""
        self._stop.set()

    async def aclose(self) -> None:
        self.stop()
        await asyncio.to_thread(self._thread.join, JOIN_SECONDS)
