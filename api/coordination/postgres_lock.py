"""The PostgreSQL :class:`ThreadLock`: a FIFO queue of row leases per thread.

Each run that asks for a thread adds a row to ``sessiongraph_thread_locks`` (a ``BIGSERIAL``
gives the arrival order); the row with the lowest ``seq`` of a thread holds it. Every change to
one thread's queue runs in a short transaction under a transaction-level advisory lock of that
thread (the ``sessiongraph_lock_check`` / ``_release`` functions of
:mod:`sessiongraph.checkpoints.postgres.schema`), so sequence numbers and commits of one thread
come in the same order. Nothing stays locked between calls: a run that holds or waits for a
thread ties up no connection, however many runs there are.

Every row is a lease: this process renews all of its rows in one ``UPDATE`` every
``lease_s / 3`` seconds, so the rows of a crashed process lapse and are reaped by the next
check. Release wakes the next waiter with ``NOTIFY`` (payload: its token) through the process's
one :class:`PostgresListener`; a waiter also re-checks every ``poll_s`` seconds (to reap a dead
holder) and after the listener reconnects.

Example::

    lock = PostgresThreadLock(pool, listener)
    async with lock.running():  # lease renewal
        async with lock.hold(thread_id):
            ...  # no other process runs on thread_id meanwhile
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from sessiongraph.api.background import in_background
from sessiongraph.api.coordination.interfaces import ThreadLock
from sessiongraph.api.coordination.memory import MemoryThreadLock
from sessiongraph.api.coordination.postgres_listener import PostgresListener
from sessiongraph.checkpoints.postgres.schema import LOCK_CHANNEL

log = logging.getLogger("sessiongraph.api.coordination.postgres_lock")

MAX_POLL_S = 5.0


class PostgresThreadLock(ThreadLock):
    """A fair per-thread lock across processes (see the module docstring).

    ``lease_s`` is how long a waiter or holder that stopped renewing (a crashed process) keeps
    its place; ``poll_s`` how often a waiter checks without being woken (default: half a lease,
    at most :data:`MAX_POLL_S`). Leases are renewed only while :meth:`running` is entered.
    """

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        listener: PostgresListener,
        *,
        lease_s: float = 15.0,
        poll_s: float | None = None,
    ) -> None:
        self._pool = pool
        self._lease_s = max(lease_s, 0.03)
        self._poll_s = min(self._lease_s / 2, MAX_POLL_S) if poll_s is None else poll_s
        # Tokens of this process (waiting or holding) -> the event that wakes their waiter.
        self._tokens: dict[str, asyncio.Event] = {}
        # The tokens whose row exists (checked once): the leases to renew.
        self._leases: set[str] = set()
        # Runs of this process join a thread's queue in the order they asked for it.
        self._arrivals = MemoryThreadLock()
        listener.on(LOCK_CHANNEL, self._wake)
        listener.on_reconnect(self._wake_all)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Renew this process's leases while inside."""
        async with in_background(self._keep_alive(), "thread-lock-leases"):
            yield

    @contextlib.asynccontextmanager
    async def hold(self, thread_id: str) -> AsyncIterator[None]:
        """See :meth:`ThreadLock.hold`."""
        token = uuid.uuid4().hex
        woken = self._tokens[token] = asyncio.Event()
        try:
            async with self._arrivals.hold(thread_id):
                held = await self._check(thread_id, token)
            self._leases.add(token)
            while not held:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_s):
                        await woken.wait()
                woken.clear()
                held = await self._check(thread_id, token)
            yield
        finally:
            del self._tokens[token]
            self._leases.discard(token)
            await asyncio.shield(self._release(thread_id, token))

    async def queue_length(self, thread_id: str) -> int:
        """How many runs hold or wait for ``thread_id`` (in every process)."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT COUNT(*) AS n FROM sessiongraph_thread_locks WHERE thread_id = %s", (thread_id,)
            )
            row = await cursor.fetchone()
        return int(row["n"]) if row else 0

    async def _check(self, thread_id: str, token: str) -> bool:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT sessiongraph_lock_check(%s, %s, %s) AS held", (thread_id, token, self._lease_s)
            )
            row = await cursor.fetchone()
        return bool(row and row["held"])

    async def _release(self, thread_id: str, token: str) -> None:
        try:
            async with self._pool.connection() as conn:
                await conn.execute("SELECT sessiongraph_lock_release(%s, %s)", (thread_id, token))
        except (psycopg.Error, PoolTimeout) as exc:
            log.warning("could not release the lock of thread %s (its lease will lapse): %r", thread_id, exc)

    def _wake(self, token: str) -> None:
        woken = self._tokens.get(token)
        if woken is not None:
            woken.set()

    def _wake_all(self) -> None:
        for woken in self._tokens.values():
            woken.set()

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self._lease_s / 3)
            try:
                await self._renew()
            except (psycopg.Error, PoolTimeout) as exc:
                log.warning("could not renew the thread lock leases (PostgreSQL unreachable?): %r", exc)
            except Exception:  # the leases must go on being renewed whatever happened
                log.exception("could not renew the thread lock leases")

    async def _renew(self) -> None:
        """Renew every lease of this process at once; sweep rows that lapsed a lease ago (a
        crashed process's, on threads nobody asked for since)."""
        tokens = list(self._leases)
        async with self._pool.connection() as conn:
            if tokens:
                cursor = await conn.execute(
                    "UPDATE sessiongraph_thread_locks "
                    "SET expires_at = clock_timestamp() + make_interval(secs => %s) "
                    "WHERE token = ANY(%s) RETURNING token",
                    (self._lease_s, tokens),
                )
                lapsed = (set(tokens) - {row["token"] for row in await cursor.fetchall()}) & self._leases
                if lapsed:
                    log.warning("%d thread lock lease(s) lapsed (stalled process?)", len(lapsed))
            await conn.execute(
                "DELETE FROM sessiongraph_thread_locks "
                "WHERE expires_at < clock_timestamp() - make_interval(secs => %s)",
                (self._lease_s,),
            )
