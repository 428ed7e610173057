"""The PostgreSQL :class:`Workers`: each process holds a row lease it renews with heartbeats.

``sessiongraph_workers`` has a row per process whose ``expires_at`` is renewed every
``lease_s / 3`` seconds; a process killed (or cut off from Postgres) stops renewing, its lease
lapses, and the runs it owned are reclaimed by the others (:meth:`RunManager.recover`).
``sessiongraph_run_claims`` holds one claim per reclaimed run (a lease too, so that a claimer
that dies lets go). Each heartbeat also deletes the rows that lapsed: absent and lapsed mean
the same.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from sessiongraph.api.coordination.leased_workers import LeasedWorkers

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


class PostgresWorkers(LeasedWorkers):
    """Process leases in PostgreSQL (see the module docstring)."""

    store = "PostgreSQL"
    store_errors = (psycopg.Error, PoolTimeout)

    def __init__(self, pool: AsyncConnectionPool[Any], *, lease_s: float = 15.0) -> None:
        super().__init__(lease_s=lease_s)
        self._pool = pool

    async def claim(self, run_id: str) -> bool:
        """See :meth:`Workers.claim`: a claim row with a lease of ``4 * lease_s``."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                _CLAIM, {"run": run_id, "w": self.worker_id, "lease": self.lease_s * 4}
            )
            return await cursor.fetchone() is not None

    async def _renew(self) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(_RENEW, {"w": self.worker_id, "lease": self.lease_s})
            await conn.execute("DELETE FROM sessiongraph_workers WHERE expires_at < clock_timestamp()")
            await conn.execute("DELETE FROM sessiongraph_run_claims WHERE expires_at < clock_timestamp()")

    async def _lease_held(self, worker_id: str) -> bool:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT 1 FROM sessiongraph_workers WHERE worker_id = %s AND expires_at > clock_timestamp()",
                (worker_id,),
            )
            return await cursor.fetchone() is not None

    async def _drop_lease(self) -> None:
        async with self._pool.connection() as conn:
            await conn.execute("DELETE FROM sessiongraph_workers WHERE worker_id = %s", (self.worker_id,))
