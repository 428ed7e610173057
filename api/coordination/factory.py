"""Which run coordination the app uses: in-process, or shared through Redis by several replicas.

With a Redis coordination URL (``Settings.coordination_url``, by default the checkpoint URL
when it is ``redis://``), every replica uses the Redis lock, run registry and stream broker on
one client, and the cancel bus: a replica asked to cancel a run that executes elsewhere
publishes the request, and the replica running it cancels it. Replicas hold leases renewed by
heartbeats (:class:`RedisWorkers`), so the runs of a dead one can be reclaimed.

In one process, run records are the session backend's (``Sessions.runs``: memory, or a table
of the SQLite file, so that they survive a restart).

Example::

    async with open_coordination(settings, sessions.runs) as coordination:
        manager = RunManager(sessions, coordination, ...)
        async with coordination.cancellation(manager.cancel_here):
            ...  # serve
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from redis.asyncio import Redis

from sessiongraph.api.coordination.cancel_bus import CancelHandler, RedisCancelBus
from sessiongraph.api.coordination.interfaces import RunRegistry, StreamBroker, ThreadLock, Workers
from sessiongraph.api.coordination.memory import MemoryStreamBroker, MemoryThreadLock, MemoryWorkers
from sessiongraph.api.coordination.redis_lock import RedisThreadLock
from sessiongraph.api.coordination.redis_streams import RedisStreamBroker
from sessiongraph.api.coordination.redis_workers import RedisWorkers
from sessiongraph.checkpoints.redis.client import connect
from sessiongraph.checkpoints.redis.runs import RedisRunRegistry
from sessiongraph.lifecycle import CancelAction
from sessiongraph.settings import Settings


def coordination_url(settings: Settings, backend_default: str | None = None) -> str | None:
    """The Redis URL runs are coordinated through, or ``None`` for in-process coordination:
    ``Settings.coordination_url`` (``memory://`` forces in-process), else what the session
    backend offers (``Sessions.coordination_url``)."""
    url = settings.coordination_url or backend_default
    return url if url is not None and url.startswith(("redis://", "rediss://")) else None


@dataclass
class Coordination:
    """The lock, run registry, stream broker and worker leases runs use, and the cancel bus
    when shared."""

    lock: ThreadLock
    runs: RunRegistry
    broker: StreamBroker
    workers: Workers
    cancel_bus: RedisCancelBus | None = None
    client: Redis | None = None

    async def ping(self) -> None:
        """Reach the coordination store once (raises when down; nothing to reach in-process)."""
        if self.client is not None:
            await self.client.ping()

    @property
    def shared(self) -> bool:
        """Whether other replicas share these runs (a run not executing here may run elsewhere)."""
        return self.cancel_bus is not None

    @contextlib.asynccontextmanager
    async def cancellation(self, handler: CancelHandler) -> AsyncIterator[None]:
        """While inside, cancel requests from other replicas reach ``handler``."""
        if self.cancel_bus is None:
            yield
            return
        async with self.cancel_bus.listening(handler):
            yield

    async def cancel_elsewhere(self, run_id: str, action: CancelAction) -> None:
        """Ask the other replicas to cancel ``run_id`` (a no-op without a cancel bus)."""
        if self.cancel_bus is not None:
            await self.cancel_bus.publish(run_id, action)


@contextlib.asynccontextmanager
async def open_coordination(
    settings: Settings, runs: RunRegistry, backend_default: str | None = None
) -> AsyncIterator[Coordination]:
    """In-process coordination keeping run records in ``runs`` (the backend's), or Redis
    coordination on one client (closed on exit)."""
    url = coordination_url(settings, backend_default)
    if url is None:
        broker = MemoryStreamBroker(heartbeat=settings.heartbeat_s, queue=settings.stream_buffer_events)
        yield Coordination(MemoryThreadLock(), runs, broker, MemoryWorkers())
        return
    client = connect(url)
    try:
        yield Coordination(
            RedisThreadLock(client, lease_s=settings.worker_lease_s),
            RedisRunRegistry(client),
            RedisStreamBroker(client, heartbeat=settings.heartbeat_s),
            RedisWorkers(client, lease_s=settings.worker_lease_s),
            RedisCancelBus(client),
            client,
        )
    finally:
        await client.aclose()
