"""Documents (assistants, crons, cron tick claims) in PostgreSQL: rows of ``sessiongraph_documents``.

``INSERT ... ON CONFLICT DO NOTHING`` is the claim, atomic between every replica and worker on
the database: a cron tick starts once however many processes check it. The table is created
by the backend's schema setup (:mod:`.schema`, version 5, which moved the documents earlier
versions kept in the LangGraph store).
"""

from __future__ import annotations

import json
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from sessiongraph.checkpoints.documents import Document, DocumentTable


class PostgresDocumentTable(DocumentTable):
    """Rows ``(kind, key, doc)`` of ``sessiongraph_documents``, reached through the backend's pool."""

    def __init__(self, pool: AsyncConnectionPool[Any], kind: str) -> None:
        self.pool = pool
        self.kind = kind

    async def _execute(self, sql: str, *params: Any) -> tuple[int, list[dict[str, Any]]]:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(sql, (self.kind, *params))
            rows = list(await cursor.fetchall()) if cursor.description else []
            return cursor.rowcount, rows

    async def get(self, key: str) -> Document | None:
        _, rows = await self._execute(
            "SELECT doc FROM sessiongraph_documents WHERE kind = %s AND key = %s", key
        )
        return dict(rows[0]["doc"]) if rows else None

    async def put(self, key: str, doc: Document) -> None:
        await self._execute(
            "INSERT INTO sessiongraph_documents (kind, key, doc) VALUES (%s, %s, %s) "
            "ON CONFLICT (kind, key) DO UPDATE SET doc = EXCLUDED.doc",
            key,
            _jsonb(doc),
        )

    async def insert_if_absent(self, key: str, doc: Document) -> bool:
        inserted, _ = await self._execute(
            "INSERT INTO sessiongraph_documents (kind, key, doc) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            key,
            _jsonb(doc),
        )
        return inserted == 1

    async def delete(self, key: str) -> bool:
        deleted, _ = await self._execute(
            "DELETE FROM sessiongraph_documents WHERE kind = %s AND key = %s", key
        )
        return deleted > 0

    async def all(self) -> list[Document]:
        _, rows = await self._execute("SELECT doc FROM sessiongraph_documents WHERE kind = %s ORDER BY key")
        return [dict(row["doc"]) for row in rows]


def _jsonb(doc: Document) -> Jsonb:
    # Like the other tables: a value JSON cannot hold is stored as its string.
    return Jsonb(doc, dumps=lambda v: json.dumps(v, separators=(",", ":"), default=str))
