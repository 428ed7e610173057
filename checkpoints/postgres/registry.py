"""Thread registry in PostgreSQL: one row per thread in ``sessiongraph_threads``.

Every search is answered by an index: newest-first listing by ``(updated_at, thread_id)``, the
owner filter by ``(owner, updated_at, thread_id)``, metadata filters by a GIN index
(``metadata @> {...}``, then an exact comparison of the value, since containment alone would let
``["a"]`` match ``["a", "b"]``), expiry by an expression index on the deadline. The number of
threads is kept in ``sessiongraph_thread_count`` by triggers, so an unfiltered count is one row.
"""

from __future__ import annotations

import json
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from sessiongraph.checkpoints.registry import SORT_FIELDS, ThreadInfo, ThreadQuery, ThreadRegistry, now

_COLUMNS = "thread_id, owner, status, metadata, created_at, updated_at, ttl_minutes"
_VALUES = "%s, %s, %s, %s, %s, %s, %s"


class PostgresThreadRegistry(ThreadRegistry):
    """Threads in the ``sessiongraph_threads`` table, reached through the backend's pool.

    The table is created by the backend's schema setup (:mod:`.schema`), not here.
    """

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def _fetch(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            return list(await cursor.fetchall()) if cursor.description else []

    async def insert_if_absent(self, info: ThreadInfo) -> bool:
        rows = await self._fetch(
            f"INSERT INTO sessiongraph_threads ({_COLUMNS}) VALUES ({_VALUES}) "
            "ON CONFLICT (thread_id) DO NOTHING RETURNING thread_id",
            _row(info),
        )
        return bool(rows)

    async def get(self, thread_id: str) -> ThreadInfo | None:
        rows = await self._fetch(
            f"SELECT {_COLUMNS} FROM sessiongraph_threads WHERE thread_id = %s", (thread_id,)
        )
        return _info(rows[0]) if rows else None

    async def search(self, query: ThreadQuery) -> list[ThreadInfo]:
        where, params = _where(query)
        order = query.sort_by if query.sort_by in SORT_FIELDS else "updated_at"
        direction = "ASC" if query.sort_order == "asc" else "DESC"
        sql = (
            f"SELECT {_COLUMNS} FROM sessiongraph_threads {where} "
            f"ORDER BY {order} {direction}, thread_id {direction} LIMIT %s OFFSET %s"
        )
        return [_info(row) for row in await self._fetch(sql, [*params, query.limit, query.offset])]

    async def count(self, query: ThreadQuery) -> int:
        where, params = _where(query)
        if not where:
            rows = await self._fetch("SELECT n FROM sessiongraph_thread_count WHERE id = 1")
            if rows:
                return int(rows[0]["n"])
        rows = await self._fetch(f"SELECT COUNT(*) AS n FROM sessiongraph_threads {where}", params)
        return int(rows[0]["n"]) if rows else 0

    async def save(self, info: ThreadInfo) -> None:
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS.split(", ")[1:])
        await self._fetch(
            f"INSERT INTO sessiongraph_threads ({_COLUMNS}) VALUES ({_VALUES}) "
            f"ON CONFLICT (thread_id) DO UPDATE SET {updates}",
            _row(info),
        )

    async def delete(self, thread_id: str) -> bool:
        rows = await self._fetch(
            "DELETE FROM sessiongraph_threads WHERE thread_id = %s RETURNING thread_id", (thread_id,)
        )
        return bool(rows)

    async def expired(self, at: float | None = None) -> list[str]:
        moment = now() if at is None else at
        rows = await self._fetch(
            "SELECT thread_id FROM sessiongraph_threads WHERE ttl_minutes IS NOT NULL "
            "AND status != 'busy' AND updated_at + ttl_minutes * 60.0 < %s",
            (moment,),
        )
        return [row["thread_id"] for row in rows]


def _row(info: ThreadInfo) -> tuple[Any, ...]:
    return (
        info.thread_id,
        info.owner,
        info.status,
        _jsonb(info.metadata),
        info.created_at,
        info.updated_at,
        info.ttl_minutes,
    )


def _info(row: dict[str, Any]) -> ThreadInfo:
    return ThreadInfo(
        thread_id=row["thread_id"],
        owner=row["owner"],
        status=row["status"],
        metadata=dict(row["metadata"] or {}),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        ttl_minutes=row["ttl_minutes"],
    )


def _where(query: ThreadQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.status is not None:
        clauses.append("status = %s")
        params.append(query.status)
    if query.owner is not None:
        clauses.append("owner = %s")
        params.append(query.owner)
    if query.thread_ids is not None:
        clauses.append("thread_id = ANY(%s)")
        params.append(list(query.thread_ids))
    if query.metadata:
        clauses.append("metadata @> %s")
        params.append(_jsonb(dict(query.metadata)))
        for key, value in query.metadata.items():
            clauses.append("metadata -> %s = %s")
            params.extend([str(key), _jsonb(value)])
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def _jsonb(value: Any) -> Jsonb:
    # Like the other registries: a value JSON cannot hold is stored as its string.
    return Jsonb(value, dumps=lambda v: json.dumps(v, separators=(",", ":"), default=str))
