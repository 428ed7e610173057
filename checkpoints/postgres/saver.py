"""``AsyncPostgresSaver`` without its process-wide lock when it draws on a connection pool.

The official saver serializes every call through one ``asyncio.Lock``, which a single shared
connection needs; over a pool each call gets its own connection, so the lock only makes
concurrent sessions wait for each other's checkpoint writes. The official store already skips
its lock for a pool the same way (a fresh lock per call).
"""

from __future__ import annotations

import asyncio

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver


class PooledPostgresSaver(AsyncPostgresSaver):
    """The official async Postgres saver for a ``psycopg_pool.AsyncConnectionPool``."""

    @property
    def lock(self) -> asyncio.Lock:
        """A fresh lock per call: the pool never hands one connection to two calls at once."""
        return asyncio.Lock()

    @lock.setter
    def lock(self, _value: asyncio.Lock) -> None:
        """Ignore the base class's shared lock."""
