"""The three things API replicas must share, behind small interfaces.

- :class:`ThreadLock`: one run at a time per thread, waiters served in arrival order.
- :class:`RunRegistry`: run records (status, kwargs, final result) by run and by thread.
- :class:`StreamBroker`: a run's stream events fanned out to any number of subscribers, with a
  bounded replay buffer for ``Last-Event-ID``, and a "closed" signal when the run is over.

In-process implementations are in :mod:`.memory`; the Redis ones (a FIFO lock with leases, run
records, Redis Streams) in :mod:`.redis_lock`, :mod:`.redis_runs` and :mod:`.redis_streams`, so
that a second replica sees a thread as busy and can serve a join.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
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
    async def of_thread(
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
