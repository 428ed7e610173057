"""Documents (assistants, crons, claims) in one table of the SQLite file, on the registry's
connection and lock."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiosqlite

from sessiongraph.checkpoints.documents import Document, DocumentTable

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessiongraph_documents (
    kind TEXT NOT NULL,
    key  TEXT NOT NULL,
    doc  TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
"""


class SqliteDocumentTable(DocumentTable):
    """Rows ``(kind, key, doc)`` of ``sessiongraph_documents``; ``INSERT OR IGNORE`` is the claim,
    atomic even between processes sharing the file."""

    def __init__(self, conn: aiosqlite.Connection, lock: asyncio.Lock, kind: str) -> None:
        self.conn = conn
        self.lock = lock
        self.kind = kind

    async def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        async with self.lock:
            cursor = await self.conn.execute(sql, params)
            await self.conn.commit()
            return int(cursor.rowcount)

    async def _rows(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        async with self.lock, self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def get(self, key: str) -> Document | None:
        rows = await self._rows(
            "SELECT doc FROM sessiongraph_documents WHERE kind = ? AND key = ?", (self.kind, key)
        )
        return json.loads(rows[0][0]) if rows else None

    async def put(self, key: str, doc: Document) -> None:
        await self._write(
            "INSERT OR REPLACE INTO sessiongraph_documents (kind, key, doc) VALUES (?, ?, ?)",
            (self.kind, key, _dump(doc)),
        )

    async def insert_if_absent(self, key: str, doc: Document) -> bool:
        inserted = await self._write(
            "INSERT OR IGNORE INTO sessiongraph_documents (kind, key, doc) VALUES (?, ?, ?)",
            (self.kind, key, _dump(doc)),
        )
        return inserted == 1

    async def delete(self, key: str) -> bool:
        deleted = await self._write(
            "DELETE FROM sessiongraph_documents WHERE kind = ? AND key = ?", (self.kind, key)
        )
        return deleted > 0

    async def all(self) -> list[Document]:
        rows = await self._rows("SELECT doc FROM sessiongraph_documents WHERE kind = ?", (self.kind,))
        return [json.loads(row[0]) for row in rows]


def _dump(doc: Document) -> str:
    return json.dumps(doc, separators=(",", ":"), default=str)
