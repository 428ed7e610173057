"""Run records in the same SQLite file as the checkpoints (their own connection and table).

One row per run: the record as JSON, its status (indexed, for recovery), and the ``/wait``
body as a blob. Rows are ordered by insertion (``rowid`` is kept across updates); each thread
keeps its newest ``keep_per_thread`` finished runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import Any

import aiosqlite

from sessiongraph.checkpoints.runs import RunRecord, RunRegistry, decode_run, encode_run

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessiongraph_runs (
    run_id    TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL,
    status    TEXT NOT NULL,
    record    TEXT NOT NULL,
    result    BLOB
);
CREATE INDEX IF NOT EXISTS sessiongraph_runs_thread ON sessiongraph_runs (thread_id);
CREATE INDEX IF NOT EXISTS sessiongraph_runs_status ON sessiongraph_runs (status);
"""
_ACTIVE = "status IN ('pending', 'running')"


class SqliteRunRegistry(RunRegistry):
    """Runs in the ``sessiongraph_runs`` table."""

    def __init__(self, conn: aiosqlite.Connection, keep_per_thread: int = 100) -> None:
        self.conn = conn
        self._keep = keep_per_thread
        self._lock = asyncio.Lock()

    async def setup(self) -> None:
        """See :meth:`RunRegistry.setup`."""
        async with self._lock:
            await self.conn.executescript(_SCHEMA)

    async def _write(self, sql: str, params: Sequence[Any], *more: tuple[str, Sequence[Any]]) -> int:
        # Autocommit statements, no explicit transaction: ``sqlite:///:memory:`` shares this
        # connection with the saver, and what follows the first statement is housekeeping.
        async with self._lock:
            cursor = await self.conn.execute(sql, params)
            for statement, args in more:
                await self.conn.execute(statement, args)
            return cursor.rowcount

    async def _fetch(self, sql: str, params: Sequence[Any]) -> list[RunRecord]:
        # Reads take the lock as well (see SqliteThreadRegistry._fetch).
        async with self._lock, self.conn.execute(sql, params) as cursor:
            rows = await cursor.fetchall()
        return [dataclasses.replace(decode_run(row[0]), result=row[1]) for row in rows]

    async def put(self, run: RunRecord) -> None:
        """See :meth:`RunRegistry.put`."""
        record = encode_run(dataclasses.replace(run, result=None)).decode()
        await self._write(
            "INSERT INTO sessiongraph_runs (run_id, thread_id, status, record, result) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET "
            "status = excluded.status, record = excluded.record, result = excluded.result",
            (run.run_id, run.thread_id, run.status, record, run.result),
            (
                f"DELETE FROM sessiongraph_runs WHERE thread_id = ? AND NOT {_ACTIVE} AND rowid NOT IN "
                "(SELECT rowid FROM sessiongraph_runs WHERE thread_id = ? ORDER BY rowid DESC LIMIT ?)",
                (run.thread_id, run.thread_id, self._keep),
            ),
        )

    async def get(self, run_id: str) -> RunRecord | None:
        """See :meth:`RunRegistry.get`."""
        rows = await self._fetch("SELECT record, result FROM sessiongraph_runs WHERE run_id = ?", (run_id,))
        return rows[0] if rows else None

    async def of_thread(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: str | None = None
    ) -> list[RunRecord]:
        """See :meth:`RunRegistry.of_thread`."""
        where, params = "thread_id = ?", [thread_id]
        if status is not None:
            where += " AND status = ?"
            params.append(status)
        return await self._fetch(
            f"SELECT record, result FROM sessiongraph_runs WHERE {where} "
            "ORDER BY rowid DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )

    async def active(self, thread_id: str) -> list[RunRecord]:
        """See :meth:`RunRegistry.active`."""
        return await self._fetch(
            f"SELECT record, result FROM sessiongraph_runs WHERE thread_id = ? AND {_ACTIVE} ORDER BY rowid",
            (thread_id,),
        )

    async def all_active(self) -> list[RunRecord]:
        """See :meth:`RunRegistry.all_active`."""
        return await self._fetch(
            f"SELECT record, result FROM sessiongraph_runs WHERE {_ACTIVE} ORDER BY rowid", ()
        )

    async def delete(self, run_id: str) -> bool:
        """See :meth:`RunRegistry.delete`."""
        return await self._write("DELETE FROM sessiongraph_runs WHERE run_id = ?", (run_id,)) > 0

    async def delete_thread(self, thread_id: str) -> None:
        """See :meth:`RunRegistry.delete_thread`."""
        await self._write("DELETE FROM sessiongraph_runs WHERE thread_id = ?", (thread_id,))
