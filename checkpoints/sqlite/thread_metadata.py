"""The index of thread metadata in the SQLite file: one row per top-level key of each thread.

``sessiongraph_thread_meta(thread_id, key, value, updated_at)`` holds, for each top-level key of
a thread's metadata, a canonical JSON text of its value, so that a filter ``{key: value}`` is one
lookup in the index on ``(key, value, updated_at, thread_id)``. The copy of the thread's
``updated_at`` lets "the newest N matches" come straight off that index, without sorting every
match. Values compare as JSON: ``1`` is not ``"1"``, ``true`` is not ``1``, ``["a"]`` is not
``["a", "b"]``, ``null`` matches a key set to null (not a missing one), and objects match
whatever the order of their keys (the stored metadata keeps its top-level order; objects inside
it are written with sorted keys, see :func:`dump_metadata`).

Triggers on ``sessiongraph_threads`` keep the rows in step within the statement that writes the
thread (insert, replace, update, delete), so every writer of the file does, and no write needs
a transaction of its own. The canonical text is computed by SQLite, by the same expression for a
stored value and for a filter's, so the two can never disagree on how a number or a string is
spelled.

A file from an older release has no such table: :func:`ensure` creates it, rewrites stored
objects with sorted keys and fills the index, once (the table's existence is the marker, as
``CREATE TABLE IF NOT EXISTS`` is for the other tables of the file).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import aiosqlite

TABLE = "sessiongraph_thread_meta"

_VALUE = (
    "CASE j.type WHEN 'text' THEN json_quote(j.value) WHEN 'true' THEN 'true' "
    "WHEN 'false' THEN 'false' WHEN 'null' THEN 'null' ELSE CAST(j.value AS TEXT) END"
)
"""The canonical text of a ``json_each`` row ``j``'s value. Objects and arrays are their minified
JSON text; a string is quoted, so it never equals an object or a number."""


def _members(document: str) -> str:
    # A document SQLite cannot read (Python writes NaN as is) has no members rather than an error.
    return (
        f"json_each(CASE WHEN NOT json_valid({document}) THEN '{{}}' "
        f"WHEN json_type({document}) = 'object' THEN {document} ELSE '{{}}' END) j"
    )


def _index(thread: str, document: str, updated_at: str, threads: str = "") -> str:
    """The statement that indexes the document ``document`` of the thread ``thread`` (SQL
    expressions over ``threads``, a ``FROM`` item ending in a comma, or over a trigger's row)."""
    return (
        f"INSERT INTO {TABLE} (thread_id, key, value, updated_at) "
        f"SELECT {thread}, j.key, {_VALUE}, {updated_at} FROM {threads}{_members(document)}"
    )


_TABLE = (
    f"""CREATE TABLE {TABLE} (
        thread_id  TEXT NOT NULL,
        key        TEXT NOT NULL,
        value      TEXT NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (thread_id, key)
    ) WITHOUT ROWID""",
    f"CREATE INDEX {TABLE}_value ON {TABLE} (key, value, updated_at, thread_id)",
)
_TRIGGERS = (
    # INSERT OR REPLACE deletes the old row without firing delete triggers: clear it here.
    f"""CREATE TRIGGER {TABLE}_insert AFTER INSERT ON sessiongraph_threads BEGIN
        DELETE FROM {TABLE} WHERE thread_id = NEW.thread_id;
        {_index("NEW.thread_id", "NEW.metadata", "NEW.updated_at")};
    END""",
    f"""CREATE TRIGGER {TABLE}_update AFTER UPDATE OF thread_id, metadata, updated_at
    ON sessiongraph_threads BEGIN
        DELETE FROM {TABLE} WHERE thread_id = OLD.thread_id;
        {_index("NEW.thread_id", "NEW.metadata", "NEW.updated_at")};
    END""",
    f"""CREATE TRIGGER {TABLE}_delete AFTER DELETE ON sessiongraph_threads BEGIN
        DELETE FROM {TABLE} WHERE thread_id = OLD.thread_id;
    END""",
)


def dump_metadata(metadata: Mapping[str, Any]) -> str:
    """The stored JSON text of a thread's metadata: its keys in their order, objects inside it
    with sorted keys, a value JSON cannot hold as its string."""
    plain = json.loads(json.dumps(metadata, default=str))
    return json.dumps({key: _sorted(value) for key, value in plain.items()}, separators=(",", ":"))


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def filter_clause(alias: str, key: str, value: Any) -> tuple[str, list[Any]]:
    """The condition that index row ``alias`` is ``key`` set to ``value``; its parameters."""
    try:
        plain = json.loads(json.dumps(value, default=str))
        document = json.dumps([_sorted(plain)], separators=(",", ":"), allow_nan=False)
    except ValueError:  # NaN or infinity: no stored value is one (see _members)
        document = "[]"
    sql = f"{alias}.key = ? AND {alias}.value = (SELECT {_VALUE} FROM json_each(?) j)"
    return sql, [str(key), document]


def exists_clause(thread: str, key: str, value: Any) -> tuple[str, list[Any]]:
    """The condition that the thread whose id is the SQL expression ``thread`` has ``key`` set
    to ``value``; its parameters."""
    clause, params = filter_clause("o", key, value)
    return f"EXISTS (SELECT 1 FROM {TABLE} o WHERE o.thread_id = {thread} AND {clause})", params


def match_counts(filters: Sequence[tuple[str, Any]], cap: int) -> tuple[str, list[Any]]:
    """A one-row query: for each ``(key, value)`` of ``filters``, how many threads have it (at
    most ``cap``: enough to tell a rare value from a common one without counting all)."""
    columns, params = [], []
    for key, value in filters:
        clause, values = filter_clause("c", key, value)
        columns.append(f"(SELECT COUNT(*) FROM (SELECT 1 FROM {TABLE} c WHERE {clause} LIMIT {int(cap)}))")
        params.extend(values)
    return "SELECT " + ", ".join(columns), params


async def ensure(conn: aiosqlite.Connection) -> bool:
    """Create the index (table, triggers) and fill it from ``sessiongraph_threads`` unless it
    exists; whether it was created. Call it inside a write transaction, so that two processes
    opening the same file fill it once."""
    if await _rows(conn, f"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{TABLE}'"):
        return False
    for statement in _TABLE:
        await conn.execute(statement)
    stored = await _rows(conn, "SELECT thread_id, metadata FROM sessiongraph_threads")
    rewritten = [(new, thread_id) for thread_id, old in stored if (new := _resorted(old)) != old]
    await conn.executemany("UPDATE sessiongraph_threads SET metadata = ? WHERE thread_id = ?", rewritten)
    await conn.execute(_index("t.thread_id", "t.metadata", "t.updated_at", "sessiongraph_threads t, "))
    for statement in _TRIGGERS:
        await conn.execute(statement)
    return True


async def _rows(conn: aiosqlite.Connection, sql: str) -> list[Any]:
    async with conn.execute(sql) as cursor:
        return list(await cursor.fetchall())


def _resorted(stored: str) -> str:
    try:
        return dump_metadata(json.loads(stored or "{}"))
    except (ValueError, AttributeError):  # not JSON, or not an object: left as it is
        return stored
