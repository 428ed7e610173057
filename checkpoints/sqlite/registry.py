"""Thread registry in the same SQLite file as the checkpoints (its own connection and table)."""

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


class SqliteThreadRegistry(ThreadRegistry):
    """Threads in the ``sessiongraph_threads`` table; metadata filters run in SQL (``json_extract``)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self.lock = asyncio.Lock()

    async def setup(self) -> None:
        async with self.lock:
            await self.conn.executescript(_SCHEMA)
            await self.conn.commit()

    async def insert_if_absent(self, info: ThreadInfo) -> bool:
        async with self.lock:
            cursor = await self.conn.execute(
                f"INSERT OR IGNORE INTO sessiongraph_threads ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                _row(info),
            )
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

    async def search(self, query: ThreadQuery) -> list[ThreadInfo]:
        where, params = _where(query)
        order = query.sort_by if query.sort_by in SORT_FIELDS else "updated_at"
        direction = "ASC" if query.sort_order == "asc" else "DESC"
        sql = (
            f"SELECT {_COLUMNS} FROM sessiongraph_threads {where} "
            f"ORDER BY {order} {direction}, thread_id {direction} LIMIT ? OFFSET ?"
        )
        return [_info(row) for row in await self._fetch(sql, [*params, query.limit, query.offset])]

    async def count(self, query: ThreadQuery) -> int:
        where, params = _where(query)
        rows = await self._fetch(f"SELECT COUNT(*) FROM sessiongraph_threads {where}", params)
        return int(rows[0][0]) if rows else 0

    async def save(self, info: ThreadInfo) -> None:
        async with self.lock:
            await self.conn.execute(
                f"INSERT OR REPLACE INTO sessiongraph_threads ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                _row(info),
            )
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
        json.dumps(info.metadata, separators=(",", ":"), default=str),
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


def _where(query: ThreadQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.status is not None:
        clauses.append("status = ?")
        params.append(query.status)
    if query.owner is not None:
        clauses.append("owner = ?")
        params.append(query.owner)
    if query.thread_ids is not None:
        ids = list(query.thread_ids) or [""]
        clauses.append(f"thread_id IN ({', '.join('?' * len(ids))})")
        params.extend(ids)
    for key, value in (query.metadata or {}).items():
        # Compare JSON to JSON so that 1 != "1" and nested values compare structurally enough.
        clauses.append(
            "json_extract(metadata, ?) IS NOT NULL AND json_quote(json_extract(metadata, ?)) = "
            "json_quote(json_extract(?, '$'))"
        )
        path = "$." + json.dumps(str(key))
        params.extend([path, path, json.dumps(value, separators=(",", ":"))])
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params
