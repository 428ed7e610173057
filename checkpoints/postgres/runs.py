"""Run records in PostgreSQL (the ``sessiongraph_runs`` table of :mod:`.schema`).

One row per run: the record as JSON, its status (active runs are indexed, for recovery), and the
``/wait`` body as bytes. Rows keep their insertion order (``seq``); each thread keeps its newest
``keep_per_thread`` finished runs.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from psycopg_pool import AsyncConnectionPool

from sessiongraph.checkpoints.runs import RunRecord, RunRegistry, decode_run, encode_run

_ACTIVE = "status IN ('pending', 'running')"


class PostgresRunRegistry(RunRegistry):
    """Runs in the ``sessiongraph_runs`` table, reached through the backend's pool."""

    def __init__(self, pool: AsyncConnectionPool[Any], keep_per_thread: int = 100) -> None:
        self.pool = pool
        self._keep = keep_per_thread

    async def _fetch(self, sql: str, params: Any = ()) -> list[RunRecord]:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            rows = await cursor.fetchall()
        return [
            dataclasses.replace(
                decode_run(row["record"]), result=bytes(row["result"]) if row["result"] is not None else None
            )
            for row in rows
        ]

    async def put(self, run: RunRecord) -> None:
        """See :meth:`RunRegistry.put`."""
        record = encode_run(dataclasses.replace(run, result=None)).decode()
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO sessiongraph_runs (run_id, thread_id, status, record, result) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (run_id) DO UPDATE SET "
                "status = EXCLUDED.status, record = EXCLUDED.record, result = EXCLUDED.result",
                (run.run_id, run.thread_id, run.status, record, run.result),
            )
            await conn.execute(
                f"DELETE FROM sessiongraph_runs WHERE thread_id = %s AND NOT {_ACTIVE} AND seq NOT IN "
                "(SELECT seq FROM sessiongraph_runs WHERE thread_id = %s ORDER BY seq DESC LIMIT %s)",
                (run.thread_id, run.thread_id, self._keep),
            )

    async def get(self, run_id: str) -> RunRecord | None:
        """See :meth:`RunRegistry.get`."""
        rows = await self._fetch("SELECT record, result FROM sessiongraph_runs WHERE run_id = %s", (run_id,))
        return rows[0] if rows else None

    async def of_thread(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: str | None = None
    ) -> list[RunRecord]:
        """See :meth:`RunRegistry.of_thread`."""
        where, params = "thread_id = %s", [thread_id]
        if status is not None:
            where += " AND status = %s"
            params.append(status)
        sql = (
            f"SELECT record, result FROM sessiongraph_runs WHERE {where} ORDER BY seq DESC LIMIT %s OFFSET %s"
        )
        return await self._fetch(sql, [*params, limit, offset])

    async def active(self, thread_id: str) -> list[RunRecord]:
        """See :meth:`RunRegistry.active`."""
        return await self._fetch(
            f"SELECT record, result FROM sessiongraph_runs WHERE thread_id = %s AND {_ACTIVE} ORDER BY seq",
            (thread_id,),
        )

    async def all_active(self) -> list[RunRecord]:
        """See :meth:`RunRegistry.all_active`."""
        return await self._fetch(f"SELECT record, result FROM sessiongraph_runs WHERE {_ACTIVE} ORDER BY seq")

    async def delete(self, run_id: str) -> bool:
        """See :meth:`RunRegistry.delete`."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute("DELETE FROM sessiongraph_runs WHERE run_id = %s", (run_id,))
            return cursor.rowcount > 0

    async def delete_thread(self, thread_id: str) -> None:
        """See :meth:`RunRegistry.delete_thread`."""
        async with self.pool.connection() as conn:
            await conn.execute("DELETE FROM sessiongraph_runs WHERE thread_id = %s", (thread_id,))
