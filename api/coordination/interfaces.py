"""The three things API replicas must share, behind small interfaces.

- :class:`ThreadLock`: one run at a time per thread, waiters served in arrival order.
- :class:`RunRegistry` (from :mod:`sessiongraph.checkpoints.runs`; the backend stores them):
  run records (status, kwargs, final result) by run and by thread.
- :class:`Workers`: which server processes are alive (whose runs are not a crash's leftovers).
- :class:`StreamBroker`: a run's stream events fanned out to any number of subscribers, with a
  bounded replay buffer for ``Last-Event-ID``, and a "closed" signal when the run is over.

In-process implementations are in :mod:`.memory`; the Redis ones (a FIFO lock with leases, run
records in :mod:`sessiongraph.checkpoints.redis.runs`, Redis Streams, replica leases) in
:mod:`.redis_lock`, :mod:`.redis_streams` and :mod:`.redis_workers`; the PostgreSQL ones (row
leases, run records in :mod:`sessiongraph.checkpoints.postgres.runs`, an event table fanned out
by ``NOTIFY``, replica leases) in :mod:`.postgres_lock`, :mod:`.postgres_streams` and
:mod:`.postgres_workers`, so that a second replica sees a thread as busy and can serve a join.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sessiongraph.checkpoints.runs import ACTIVE_STATUSES, RunRecord, RunRegistry, RunStatus

__all__ = [
    "ACTIVE_STATUSES",
    "RunRecord",
    "RunRegistry",
    "RunStatus",
    "StreamBroker",
    "StreamEvent",
    "Subscription",
    "ThreadLock",
    "Workers",
]


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


class Workers(abc.ABC):
    """Which server processes are alive: a run whose worker is not is a crash's leftover.

    In-process coordination knows only itself; on Redis and PostgreSQL each replica holds a
    lease it renews with heartbeats (:mod:`.leased_workers`), and a replica whose lease lapsed
    is dead.
    """

    worker_id: str
    """This process's id (stamped on the runs it admits)."""

    @abc.abstractmethod
    async def alive(self, worker_id: str | None) -> bool:
        """Whether the process ``worker_id`` still runs."""

    async def claim(self, run_id: str) -> bool:
        """Take the recovery of a dead process's run; ``False`` if another process took it."""
        return True

    def heartbeats(self) -> contextlib.AbstractAsyncContextManager[None]:
        """While inside, this process proves it is alive (a no-op in one process)."""
        return contextlib.nullcontext()


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
