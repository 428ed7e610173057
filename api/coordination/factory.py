"""Which run coordination the app uses: in-process, or shared by several replicas through Redis
or PostgreSQL.

The coordination URL is ``Settings.coordination_url`` (``SESSIONGRAPH_COORDINATION_URL``), else
what the session backend offers: itself on ``redis://`` and ``postgresql://``, nothing on memory
and SQLite. ``memory://`` forces in-process coordination.

- **Redis** (``redis://``): the Redis lock, run registry and stream broker on one client, and the
  pub/sub cancel bus.
- **PostgreSQL** (``postgresql://``, ``postgres://``): row-lease locks, the backend's run table,
  a stream table, all on a small pool of their own (up to half of
  ``SESSIONGRAPH_POSTGRES_POOL_SIZE``), and one ``LISTEN`` connection per process that wakes
  waiters and subscribers and carries cancel requests. The tables are the backend's
  (:mod:`sessiongraph.checkpoints.postgres.schema`), set up when missing.

Shared coordination sends a cancel of a run that executes elsewhere over the cancel bus, and the
replica running it cancels it. Replicas hold leases renewed by heartbeats (:class:`Workers`), so
the runs of a dead one can be reclaimed. In one process, run records are the session backend's
(``Sessions.runs``: memory, or a table of the SQLite file, so that they survive a restart).

Example::

    async with open_coordination(settings, sessions.runs) as coordination:
        manager = RunManager(sessions, coordination, ...)
        async with coordination.cancellation(manager.cancel_here):
            ...  # serve
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from sessiongraph.api.coordination.cancel_bus import CancelBus, CancelHandler
from sessiongraph.api.coordination.interfaces import RunRegistry, StreamBroker, ThreadLock, Workers
from sessiongraph.api.coordination.memory import MemoryStreamBroker, MemoryThreadLock, MemoryWorkers
from sessiongraph.api.coordination.postgres_cancel import PostgresCancelBus
from sessiongraph.api.coordination.postgres_listener import PostgresListener
from sessiongraph.api.coordination.postgres_lock import PostgresThreadLock
from sessiongraph.api.coordination.postgres_streams import PostgresStreamBroker
from sessiongraph.api.coordination.postgres_workers import PostgresWorkers
from sessiongraph.api.coordination.redis_cancel import RedisCancelBus
from sessiongraph.api.coordination.redis_lock import RedisThreadLock
from sessiongraph.api.coordination.redis_streams import RedisStreamBroker
from sessiongraph.api.coordination.redis_workers import RedisWorkers
from sessiongraph.checkpoints.postgres.backend import open_pool, setup_own_tables
from sessiongraph.checkpoints.postgres.runs import PostgresRunRegistry
from sessiongraph.checkpoints.redis.client import connect
from sessiongraph.checkpoints.redis.runs import RedisRunRegistry
from sessiongraph.lifecycle import CancelAction
from sessiongraph.settings import Settings

REDIS_SCHEMES = ("redis://", "rediss://")
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
POOL_TIMEOUT_S = 10.0
"""How long a coordination call waits for a pooled PostgreSQL connection."""
UNCHECKED_S = 1.0
"""A pooled connection back within this long is handed out again without a check (a round trip)."""


def coordination_url(settings: Settings, backend_default: str | None = None) -> str | None:
    """The Redis or PostgreSQL URL runs are coordinated through, or ``None`` for in-process
    coordination: ``Settings.coordination_url`` (``memory://`` forces in-process), else what the
    session backend offers (``Sessions.coordination_url``)."""
    url = settings.coordination_url or backend_default
    return url if url is not None and url.startswith(REDIS_SCHEMES + POSTGRES_SCHEMES) else None


@dataclass
class Coordination:
    """The lock, run registry, stream broker and worker leases runs use, the cancel bus when
    shared, and how to reach the shared store (``probe``)."""

    lock: ThreadLock
    runs: RunRegistry
    broker: StreamBroker
    workers: Workers
    cancel_bus: CancelBus | None = None
    probe: Callable[[], Awaitable[object]] | None = None

    async def ping(self) -> None:
        """Reach the coordination store once (raises when down; nothing to reach in-process)."""
        if self.probe is not None:
            await self.probe()

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
    """In-process coordination keeping run records in ``runs`` (the backend's), or Redis or
    PostgreSQL coordination (its connections closed on exit)."""
    url = coordination_url(settings, backend_default)
    if url is None:
        broker = MemoryStreamBroker(heartbeat=settings.heartbeat_s, queue=settings.stream_buffer_events)
        yield Coordination(MemoryThreadLock(), runs, broker, MemoryWorkers())
    elif url.startswith(POSTGRES_SCHEMES):
        async with open_postgres_coordination(url, settings) as coordination:
            yield coordination
    else:
        async with open_redis_coordination(url, settings) as coordination:
            yield coordination


@contextlib.asynccontextmanager
async def open_redis_coordination(url: str, settings: Settings) -> AsyncIterator[Coordination]:
    """Coordination through the Redis at ``url``, on one client."""
    client = connect(url)
    try:
        yield Coordination(
            RedisThreadLock(client, lease_s=settings.worker_lease_s),
            RedisRunRegistry(client),
            RedisStreamBroker(client, heartbeat=settings.heartbeat_s),
            RedisWorkers(client, lease_s=settings.worker_lease_s),
            RedisCancelBus(client),
            client.ping,
        )
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def open_postgres_coordination(url: str, settings: Settings) -> AsyncIterator[Coordination]:
    """Coordination through the PostgreSQL database at ``url``: a pool and one listener."""
    size = max(4, settings.postgres_pool_size // 2)
    async with open_pool(url, size, timeout_s=POOL_TIMEOUT_S, unchecked_s=UNCHECKED_S) as pool:
        await setup_own_tables(pool)
        listener = PostgresListener(url)
        lock = PostgresThreadLock(pool, listener, lease_s=settings.worker_lease_s)
        broker = PostgresStreamBroker(pool, listener, heartbeat=settings.heartbeat_s)
        cancel_bus = PostgresCancelBus(pool, listener)

        async def probe() -> None:
            # Without its listener a replica misses cancels and wake-ups: not ready either.
            if not listener.connected.is_set():
                raise ConnectionError("the PostgreSQL LISTEN connection is down; reconnecting")
            async with pool.connection() as conn:
                await conn.execute("SELECT 1")

        async with listener.running(), lock.running():
            yield Coordination(
                lock,
                PostgresRunRegistry(pool),
                broker,
                PostgresWorkers(pool, lease_s=settings.worker_lease_s),
                cancel_bus,
                probe,
            )
