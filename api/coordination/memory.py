"""In-process run coordination: a FIFO lock per thread, per-run bounded queues, one worker.

Enough for one server process (memory and SQLite backends); several replicas need the Redis
or PostgreSQL implementations. Run records are the backend's (:attr:`Backend.runs`).

A subscriber that reads more slowly than the run produces (a slow SSE client: the socket's
back-pressure stops the reader) gets at most ``queue`` events buffered; past that it is dropped
with an ``error`` event telling it to reconnect with ``Last-Event-ID``, so memory stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sessiongraph.api.coordination.interfaces import (
    StreamBroker,
    StreamEvent,
    Subscription,
    ThreadLock,
    Workers,
)
from sessiongraph.api.serialize import dumps

SLOW_CONSUMER = dumps(
    {
        "error": "SlowConsumer",
        "message": "the client read the stream too slowly and was dropped; reconnect with "
        "Last-Event-ID to resume from the last event received",
    }
)
_OVERFLOW = StreamEvent(0, "error", SLOW_CONSUMER)


class MemoryWorkers(Workers):
    """One process: only this one is alive (runs of an earlier process are a crash's leftovers)."""

    def __init__(self) -> None:
        self.worker_id = uuid.uuid4().hex

    async def alive(self, worker_id: str | None) -> bool:
        """See :meth:`Workers.alive`."""
        return worker_id == self.worker_id


class MemoryThreadLock(ThreadLock):
    """``asyncio.Lock`` per thread (FIFO waiters), dropped when nobody holds or waits."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, thread_id: str) -> AsyncIterator[None]:
        """See :meth:`ThreadLock.hold`."""
        lock, users = self._locks.setdefault(thread_id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                self._locks.pop(thread_id, None)


@dataclass
class _Channel:
    buffer: deque[StreamEvent]
    subscribers: list[asyncio.Queue[StreamEvent | None]] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    seq: int = 0


class MemoryStreamBroker(StreamBroker):
    """Per-run queues; ``heartbeat`` seconds of silence yield ``None`` to the subscriber."""

    def __init__(
        self, heartbeat: float = 5.0, replay: int = 1000, closed_kept: int = 256, queue: int = 1000
    ) -> None:
        self._channels: dict[str, _Channel] = {}
        # Finished runs stay replayable (Last-Event-ID after the end), the newest ``closed_kept``.
        self._closed: OrderedDict[str, _Channel] = OrderedDict()
        self._closed_kept = closed_kept
        self._heartbeat = heartbeat
        self._replay = replay
        self._queue = queue

    async def open(self, run_id: str) -> None:
        """See :meth:`StreamBroker.open`."""
        self._channels.setdefault(run_id, _Channel(deque(maxlen=self._replay)))

    async def publish(self, run_id: str, event: str, data: bytes) -> None:
        """See :meth:`StreamBroker.publish`."""
        channel = self._channels.get(run_id)
        if channel is None:
            return
        channel.seq += 1
        item = StreamEvent(channel.seq, event, data)
        channel.buffer.append(item)
        for queue in list(channel.subscribers):
            if queue.qsize() >= self._queue:
                # A reader this far behind is dropped rather than buffered without bound.
                channel.subscribers.remove(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(_OVERFLOW)
            else:
                queue.put_nowait(item)

    async def subscribe(self, run_id: str, last_event_id: int | None = None) -> Subscription:
        """See :meth:`StreamBroker.subscribe`."""
        channel = self._channels.get(run_id)
        queue: asyncio.Queue[StreamEvent | None] = asyncio.Queue(self._queue + 1)
        if channel is None:
            finished = self._closed.get(run_id)
            if finished is not None and last_event_id is not None:
                for item in list(finished.buffer)[-self._queue :]:
                    if item.seq > last_event_id:
                        queue.put_nowait(item)
            queue.put_nowait(None)
            return _MemorySubscription(queue, None, self._heartbeat)
        if last_event_id is not None:
            for item in list(channel.buffer)[-self._queue :]:
                if item.seq > last_event_id:
                    queue.put_nowait(item)
        channel.subscribers.append(queue)
        return _MemorySubscription(queue, channel, self._heartbeat)

    async def close(self, run_id: str) -> None:
        """See :meth:`StreamBroker.close`."""
        channel = self._channels.pop(run_id, None)
        if channel is None:
            return
        self._closed[run_id] = channel
        while len(self._closed) > self._closed_kept:
            self._closed.popitem(last=False)
        channel.closed.set()
        for queue in channel.subscribers:
            queue.put_nowait(None)  # fits: a queue keeps one place spare for its last item

    async def wait_closed(self, run_id: str, timeout: float) -> bool:
        """See :meth:`StreamBroker.wait_closed`."""
        channel = self._channels.get(run_id)
        if channel is None:
            return True
        try:
            async with asyncio.timeout(timeout):
                await channel.closed.wait()
        except TimeoutError:
            return False
        return True


class _MemorySubscription(Subscription):
    def __init__(
        self, queue: asyncio.Queue[StreamEvent | None], channel: _Channel | None, heartbeat: float
    ) -> None:
        self._queue = queue
        self._channel = channel
        self._heartbeat = heartbeat

    async def __aiter__(self) -> AsyncIterator[StreamEvent | None]:
        try:
            while True:
                try:
                    async with asyncio.timeout(self._heartbeat):
                        item = await self._queue.get()
                except TimeoutError:
                    yield None
                    continue
                if item is None:
                    return
                yield item
                if item is _OVERFLOW:
                    return
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._channel is not None:
            with contextlib.suppress(ValueError):
                self._channel.subscribers.remove(self._queue)
