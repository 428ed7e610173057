"""Thread registry in the same SQLite file as the checkpoints (its own connection and table).

Threads are rows of ``sessiongraph_threads``; a search sorts by the indexes on ``updated_at`` and
``(owner, updated_at)``. Metadata filters go through the metadata index of
:mod:`.thread_metadata`: the rows of the key with the fewest matches drive the search (newest
first straight off the index), the other keys are probed per candidate, and counts never read
the threads they count unless status or owner narrow them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import aiosqlite

from sessiongraph.checkpoints.registry import (
    SORT_FIELDS,
    ThreadInfo,
    ThreadQuery,
    ThreadRegistry,
    now,
)
from sessiongraph.checkpoints.sqlite import thread_metadata

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessiongraph_threads (
    thread_id   TEXT PRIMARY KEY,
    owner       TEXT,
    status      TEXT NOT NULL DEFAULT 'idle',
    metadata    TEXT NOT NULL DEFAULT '{}',
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    ttl_minutes REAL
);
CREATE INDEX IF NOT EXISTS sessiongraph_threads_updated ON sessiongraph_threads (updated_at);
CREATE INDEX IF NOT EXISTS sessiongraph_threads_owner ON sessiongraph_threads (owner, updated_at);
"""
_COLUMNS = "thread_id, owner, status, metadata, created_at, updated_at, ttl_minutes"
_INSERT = f"INTO sessiongraph_threads ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
DRIVER_PROBE = 1000
"""Of several metadata filters, the one with the fewest matches (counted up to this) drives."""


class SqliteThreadRegistry(ThreadRegistry):
    """Threads in the ``sessiongraph_threads`` table, their metadata indexed in
    ``sessiongraph_thread_meta`` (see the module docstring)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self.lock = asyncio.Lock()

    async def setup(self) -> None:
        """Create the tables; index the metadata of threads stored before the index existed."""
        async with self.lock:
            await self.conn.executescript(_SCHEMA)
            # Runs before the backend is used, so even a connection shared with the saver (an
            # in-memory database) has no other statement in this transaction.
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                await thread_metadata.ensure(self.conn)
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    async def insert_if_absent(self, info: ThreadInfo) -> bool:
        async with self.lock:
            cursor = await self.conn.execute(f"INSERT OR IGNORE {_INSERT}", _row(info))
            await self.conn.commit()
            return cursor.rowcount == 1

    async def get(self, thread_id: str) -> ThreadInfo | None:
        rows = await self._fetch(
            f"SELECT {_COLUMNS} FROM sessiongraph_threads WHERE thread_id = ?", (thread_id,)
        )
        return _info(rows[0]) if rows else None

    async def _fetch(self, sql: str, params: Sequence[Any]) -> list[Any]:
        # Reads take the lock too: a write on this connection while another coroutine's cursor is
        # still open would upgrade a stale WAL snapshot, which fails at once with "database is locked".
        async with self.lock, self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def _metadata_filters(self, query: ThreadQuery) -> list[tuple[str, Any]]:
        """The query's metadata filters, the one fewest threads match first (it drives)."""
        filters = list((query.metadata or {}).items())
        if len(filters) < 2 or query.thread_ids is not None:
            return filters
        sql, params = thread_metadata.match_counts(filters, DRIVER_PROBE)
        counts = (await self._fetch(sql, params))[0]
        return [pair for _, pair in sorted(zip(counts, filters, strict=True), key=lambda item: item[0])]

    async def search(self, query: ThreadQuery) -> list[ThreadInfo]:
        source, where, params = _filter(query, await self._metadata_filters(query))
        sort = query.sort_by if query.sort_by in SORT_FIELDS else "updated_at"
        # Off the metadata index, its copy of updated_at gives the order without a sort.
        table = "m" if source.startswith(_META) and sort == "updated_at" else "t"
        direction = "ASC" if query.sort_order == "asc" else "DESC"
        columns = ", ".join(f"t.{column}" for column in _COLUMNS.split(", "))
        sql = (
            f"SELECT {columns} FROM {source} {where} "
            f"ORDER BY {table}.{sort} {direction}, {table}.thread_id {direction} LIMIT ? OFFSET ?"
        )
        return [_info(row) for row in await self._fetch(sql, [*params, query.limit, query.offset])]

    async def count(self, query: ThreadQuery) -> int:
        source, where, params = _filter(query, await self._metadata_filters(query), need_threads=False)
        rows = await self._fetch(f"SELECT COUNT(*) FROM {source} {where}", params)
        return int(rows[0][0]) if rows else 0

    async def save(self, info: ThreadInfo) -> None:
        async with self.lock:
            await self.conn.execute(f"INSERT OR REPLACE {_INSERT}", _row(info))
            await self.conn.commit()

    async def delete(self, thread_id: str) -> bool:
        async with self.lock:
            cursor = await self.conn.execute(
                "DELETE FROM sessiongraph_threads WHERE thread_id = ?", (thread_id,)
            )
            await self.conn.commit()
            return cursor.rowcount > 0

    async def expired(self, at: float | None = None) -> list[str]:
        moment = now() if at is None else at
        sql = (
            "SELECT thread_id FROM sessiongraph_threads WHERE ttl_minutes IS NOT NULL "
            "AND status != 'busy' AND updated_at + ttl_minutes * 60.0 < ?"
        )
        return [row[0] for row in await self._fetch(sql, (moment,))]


def _row(info: ThreadInfo) -> tuple[Any, ...]:
    return (
        info.thread_id,
        info.owner,
        info.status,
        thread_metadata.dump_metadata(info.metadata),
        info.created_at,
        info.updated_at,
        info.ttl_minutes,
    )


def _info(row: Any) -> ThreadInfo:
    return ThreadInfo(
        thread_id=row[0],
        owner=row[1],
        status=row[2],
        metadata=json.loads(row[3] or "{}"),
        created_at=row[4],
        updated_at=row[5],
        ttl_minutes=row[6],
    )


_THREADS = "sessiongraph_threads t"
_META = f"{thread_metadata.TABLE} m"


def _filter(
    query: ThreadQuery, filters: list[tuple[str, Any]], *, need_threads: bool = True
) -> tuple[str, str, list[Any]]:
    """``(FROM clause, WHERE clause, parameters)`` of the query's filters, its metadata ones
    given as ``filters``.

    The threads are ``t``. Given metadata and no thread ids, the first filter's index rows ``m``
    drive (``CROSS JOIN`` keeps SQLite from starting at the threads instead); a count without a
    status or owner filter then never reads ``t``. Given thread ids, those drive.
    """
    clauses: list[str] = []
    params: list[Any] = []
    filters = list(filters)
    source = _THREADS
    thread = "t.thread_id"
    if filters and query.thread_ids is None:
        clause, values = thread_metadata.filter_clause("m", *filters.pop(0))
        clauses.append(clause)
        params.extend(values)
        thread = "m.thread_id"
        needs_t = need_threads or query.status is not None or query.owner is not None
        source = f"{_META} CROSS JOIN {_THREADS}" if needs_t else _META
        if needs_t:
            clauses.append("t.thread_id = m.thread_id")
    if query.status is not None:
        clauses.append("t.status = ?")
        params.append(query.status)
    if query.owner is not None:
        clauses.append("t.owner = ?")
        params.append(query.owner)
    if query.thread_ids is not None:
        ids = list(query.thread_ids) or [""]
        clauses.append(f"t.thread_id IN ({', '.join('?' * len(ids))})")
        params.extend(ids)
    for key, value in filters:
        clause, values = thread_metadata.exists_clause(thread, key, value)
        clauses.append(clause)
        params.extend(values)
    return source, ("WHERE " + " AND ".join(clauses)) if clauses else "", params
