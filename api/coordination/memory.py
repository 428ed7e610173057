"""In-process run coordination: a FIFO lock per thread, run records in dicts, per-run queues.

Enough for one server process (memory and SQLite backends); several replicas need the Redis
implementations.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sessiongraph.api.coordination.interfaces import (
    RunRecord,
    RunRegistry,
    StreamBroker,
    StreamEvent,
    Subscription,
    ThreadLock,
)


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


class MemoryRunRegistry(RunRegistry):
    """Runs in dicts; each thread keeps its newest ``keep_per_thread`` finished runs."""

    def __init__(self, keep_per_thread: int = 100) -> None:
        self._runs: dict[str, RunRecord] = {}
        self._by_thread: dict[str, OrderedDict[str, None]] = {}
        self._keep = keep_per_thread

    async def put(self, run: RunRecord) -> None:
        """See :meth:`RunRegistry.put`."""
        self._runs[run.run_id] = run
        ids = self._by_thread.setdefault(run.thread_id, OrderedDict())
        ids[run.run_id] = None
        if len(ids) > self._keep:
            for old in list(ids)[: len(ids) - self._keep]:
                if not self._runs[old].active:
                    del ids[old]
                    self._runs.pop(old, None)

    async def get(self, run_id: str) -> RunRecord | None:
        """See :meth:`RunRegistry.get`."""
        return self._runs.get(run_id)

    async def of_thread(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: str | None = None
    ) -> list[RunRecord]:
        """See :meth:`RunRegistry.of_thread`."""
        ids = reversed(self._by_thread.get(thread_id, OrderedDict()))
        runs = [self._runs[i] for i in ids if status is None or self._runs[i].status == status]
        return runs[offset : offset + limit]

    async def active(self, thread_id: str) -> list[RunRecord]:
        """See :meth:`RunRegistry.active`."""
        ids = self._by_thread.get(thread_id, OrderedDict())
        return [self._runs[i] for i in ids if self._runs[i].active]

    async def delete(self, run_id: str) -> bool:
        """See :meth:`RunRegistry.delete`."""
        run = self._runs.pop(run_id, None)
        if run is None:
            return False
        self._by_thread.get(run.thread_id, OrderedDict()).pop(run_id, None)
        return True

    async def delete_thread(self, thread_id: str) -> None:
        """See :meth:`RunRegistry.delete_thread`."""
        for run_id in self._by_thread.pop(thread_id, OrderedDict()):
            self._runs.pop(run_id, None)


@dataclass
class _Channel:
    buffer: deque[StreamEvent]
    subscribers: list[asyncio.Queue[StreamEvent | None]] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    seq: int = 0


class MemoryStreamBroker(StreamBroker):
    """Per-run queues; ``heartbeat`` seconds of silence yield ``None`` to the subscriber."""

    def __init__(self, heartbeat: float = 5.0, replay: int = 1000, closed_kept: int = 256) -> None:
        self._channels: dict[str, _Channel] = {}
        # Finished runs stay replayable (Last-Event-ID after the end), the newest ``closed_kept``.
        self._closed: OrderedDict[str, _Channel] = OrderedDict()
        self._closed_kept = closed_kept
        self._heartbeat = heartbeat
        self._replay = replay

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
        for queue in channel.subscribers:
            queue.put_nowait(item)

    async def subscribe(self, run_id: str, last_event_id: int | None = None) -> Subscription:
        """See :meth:`StreamBroker.subscribe`."""
        channel = self._channels.get(run_id)
        queue: asyncio.Queue[StreamEvent | None] = asyncio.Queue()
        if channel is None:
            finished = self._closed.get(run_id)
            if finished is not None and last_event_id is not None:
                for item in finished.buffer:
                    if item.seq > last_event_id:
                        queue.put_nowait(item)
            queue.put_nowait(None)
            return _MemorySubscription(queue, None, self._heartbeat)
        if last_event_id is not None:
            for item in channel.buffer:
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
            queue.put_nowait(None)

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
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._channel is not None:
            with contextlib.suppress(ValueError):
                self._channel.subscribers.remove(self._queue)
