"""The PostgreSQL :class:`Workers`: each process holds a row lease it renews with heartbeats.

``sessiongraph_workers`` has a row per process whose ``expires_at`` is renewed every
``lease_s / 3`` seconds; a process killed (or cut off from Postgres) stops renewing, its lease
lapses, and the runs it owned are reclaimed by the others (:meth:`RunManager.recover`).
``sessiongraph_run_claims`` holds one claim per reclaimed run (a lease too, so that a claimer
that dies lets go). Each heartbeat also deletes the rows that lapsed: absent and lapsed mean
the same.
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
from sessiongraph.api.coordination.interfaces import Workers

log = logging.getLogger("sessiongraph.api.coordination.postgres_workers")

_RENEW = (
    "INSERT INTO sessiongraph_workers (worker_id, expires_at) "
    "VALUES (%(w)s, clock_timestamp() + make_interval(secs => %(lease)s)) "
    "ON CONFLICT (worker_id) DO UPDATE SET expires_at = EXCLUDED.expires_at"
)
_CLAIM = (
    "INSERT INTO sessiongraph_run_claims AS c (run_id, worker_id, expires_at) "
    "VALUES (%(run)s, %(w)s, clock_timestamp() + make_interval(secs => %(lease)s)) "
    "ON CONFLICT (run_id) DO UPDATE SET worker_id = EXCLUDED.worker_id, expires_at = EXCLUDED.expires_at "
    "WHERE c.expires_at < clock_timestamp() RETURNING run_id"
)


class PostgresWorkers(Workers):
    """Process leases in PostgreSQL (see the module docstring)."""

    def __init__(self, pool: AsyncConnectionPool[Any], *, lease_s: float = 15.0) -> None:
        self._pool = pool
        self.lease_s = lease_s
        self.worker_id = uuid.uuid4().hex

    async def alive(self, worker_id: str | None) -> bool:
        """See :meth:`Workers.alive`."""
        if worker_id is None:
            return False
        if worker_id == self.worker_id:
            return True
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT 1 FROM sessiongraph_workers WHERE worker_id = %s AND expires_at > clock_timestamp()",
                (worker_id,),
            )
            return await cursor.fetchone() is not None

    async def claim(self, run_id: str) -> bool:
        """See :meth:`Workers.claim`: a claim row with a lease of ``4 * lease_s``."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                _CLAIM, {"run": run_id, "w": self.worker_id, "lease": self.lease_s * 4}
            )
            return await cursor.fetchone() is not None

    @contextlib.asynccontextmanager
    async def heartbeats(self) -> AsyncIterator[None]:
        """See :meth:`Workers.heartbeats`."""
        await self._beat_once()
        try:
            async with in_background(self._beat(), "worker-heartbeat"):
                yield
        finally:
            with contextlib.suppress(psycopg.Error, PoolTimeout):
                async with self._pool.connection() as conn:
                    await conn.execute(
                        "DELETE FROM sessiongraph_workers WHERE worker_id = %s", (self.worker_id,)
                    )

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            await self._beat_once()

    async def _beat_once(self) -> None:
        try:
            async with self._pool.connection() as conn:
                await conn.execute(_RENEW, {"w": self.worker_id, "lease": self.lease_s})
                await conn.execute("DELETE FROM sessiongraph_workers WHERE expires_at < clock_timestamp()")
                await conn.execute("DELETE FROM sessiongraph_run_claims WHERE expires_at < clock_timestamp()")
        except (psycopg.Error, PoolTimeout) as exc:
            log.warning("worker heartbeat failed (PostgreSQL unreachable?): %r", exc)
        except Exception:  # the heartbeats must go on whatever happened
            log.exception("worker heartbeat failed")
