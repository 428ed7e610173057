"""The three things API replicas must share, behind small interfaces, with in-memory implementations.

- :class:`ThreadLock`: one run at a time per thread, waiters served in arrival order.
- :class:`RunRegistry`: run records (status, kwargs, final result) by run and by thread.
- :class:`StreamBroker`: a run's stream events fanned out to any number of subscribers, with a
  bounded replay buffer for ``Last-Event-ID``, and a "closed" signal when the run is over.

A Redis implementation (a lock key with a FIFO list, run hashes, Redis Streams + pub/sub) fits
the same methods, so that a second replica sees a thread as busy and can serve a join.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

RunStatus = Literal["pending", "running", "success", "error", "timeout", "interrupted"]
ACTIVE_STATUSES: frozenset[str] = frozenset({"pending", "running"})


@dataclass
class RunRecord:
    """One run. ``result`` is the encoded JSON body of ``/wait`` and ``/join`` once known."""

    run_id: str
    thread_id: str
    assistant_id: str
    status: RunStatus
    created_at: float
    updated_at: float
    metadata: dict[str, Any]
    kwargs: dict[str, Any]
    multitask_strategy: str
    owner: str | None = None
    temporary: bool = False
    error: dict[str, str] | None = None
    result: bytes | None = None

    @property
    def active(self) -> bool:
        """Pending or running."""
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class StreamEvent:
    """One SSE event of a run: a per-run sequence number, the event name, encoded JSON data."""

    seq: int
    event: str
    data: bytes


class Subscription(abc.ABC):
    """An iterator over a run's events; ``None`` items are heartbeats (silence for a while)."""

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[StreamEvent | None]:
        """Iterate the events."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Stop receiving."""


class ThreadLock(abc.ABC):
    """Mutual exclusion of runs on one thread."""

    @abc.abstractmethod
    def hold(self, thread_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Wait (first come, first served) until no other run holds the thread, then hold it."""


class RunRegistry(abc.ABC):
    """Storage of :class:`RunRecord`."""

    @abc.abstractmethod
    async def put(self, run: RunRecord) -> None:
        """Insert or replace a record."""

    @abc.abstractmethod
    async def get(self, run_id: str) -> RunRecord | None:
        """The record, or ``None``."""

    @abc.abstractmethod
    async def list(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: str | None = None
    ) -> list[RunRecord]:
        """The thread's runs, newest first."""

    @abc.abstractmethod
    async def active(self, thread_id: str) -> list[RunRecord]:
        """The thread's pending and running runs, oldest first."""

    @abc.abstractmethod
    async def delete(self, run_id: str) -> bool:
        """Forget a run; ``False`` if unknown."""

    @abc.abstractmethod
    async def delete_thread(self, thread_id: str) -> None:
        """Forget every run of a thread."""


class StreamBroker(abc.ABC):
    """Fan-out of run events."""

    @abc.abstractmethod
    async def open(self, run_id: str) -> None:
        """Prepare a channel for a run (before anyone subscribes)."""

    @abc.abstractmethod
    async def publish(self, run_id: str, event: str, data: bytes) -> None:
        """Send an event to every subscriber and keep it for replay."""

    @abc.abstractmethod
    async def subscribe(self, run_id: str, last_event_id: int | None = None) -> Subscription:
        """Register a subscriber now: it receives the events after ``last_event_id`` (``0``: all
        that are still buffered; ``None``: live ones only), then the live ones until the run's
        channel closes. A closed or unknown run gives an empty subscription."""

    @abc.abstractmethod
    async def close(self, run_id: str) -> None:
        """The run is over: end every subscription."""

    @abc.abstractmethod
    async def wait_closed(self, run_id: str, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the run's channel to close; ``True`` if closed (or unknown)."""


# --- in-memory implementations ------------------------------------------------------------------


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

    async def list(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: str | None = None
    ) -> list[RunRecord]:
        """See :meth:`RunRegistry.list`."""
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

    def __init__(self, heartbeat: float = 5.0, replay: int = 1000) -> None:
        self._channels: dict[str, _Channel] = {}
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
