"""The SQLite thread registry's metadata index: kept in step with the threads whoever writes them,
built for files of an older release on open, and the same on an in-memory database."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sessiongraph import Sessions
from sessiongraph.checkpoints import ThreadInfo, ThreadQuery, open_backend
from sessiongraph.settings import Settings

MINUTE = 60.0
OLD_SCHEMA = """
CREATE TABLE sessiongraph_threads (
    thread_id   TEXT PRIMARY KEY,
    owner       TEXT,
    status      TEXT NOT NULL DEFAULT 'idle',
    metadata    TEXT NOT NULL DEFAULT '{}',
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    ttl_minutes REAL
);
CREATE INDEX sessiongraph_threads_updated ON sessiongraph_threads (updated_at);
CREATE INDEX sessiongraph_threads_owner ON sessiongraph_threads (owner, updated_at);
"""
"""The registry's table as releases before the metadata index created it."""


def indexed_threads(path: Path) -> list[str]:
    """The thread ids that have rows in the file's metadata index."""
    with closing(sqlite3.connect(path)) as conn, conn:
        rows = conn.execute("SELECT DISTINCT thread_id FROM sessiongraph_thread_meta ORDER BY 1").fetchall()
    return [row[0] for row in rows]


def ids(threads: list[ThreadInfo]) -> list[str]:
    """The ``thread_id`` of each thread."""
    return [t.thread_id for t in threads]


async def test_deleted_and_expired_threads_leave_no_index_rows(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    url = f"sqlite:///{path}"
    async with Sessions.open(settings=Settings(checkpoint_url=url, model="offline")) as sessions:
        await sessions.create_thread("kept", metadata={"user": "ada", "n": 1})
        await sessions.create_thread("deleted", metadata={"user": "ada", "tags": ["x"]})
        await sessions.create_thread("expiring", metadata={"user": "ada"}, ttl_minutes=1)
        await sessions.invoke("deleted", "hello")
        await sessions.delete_thread("deleted")
        expiring = await sessions.get_thread("expiring")
        assert await sessions.sweep_expired(at=expiring.updated_at + 2 * MINUTE) == ["expiring"]

        assert ids(await sessions.list_threads(metadata={"user": "ada"})) == ["kept"]
        assert await sessions.count_threads(ThreadQuery(metadata={"user": "ada"})) == 1
    assert indexed_threads(path) == ["kept"]


async def test_a_file_of_an_older_release_is_indexed_once_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(OLD_SCHEMA)
        conn.executemany(
            "INSERT INTO sessiongraph_threads (thread_id, owner, metadata, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                ("old-1", "alice", '{"user":"ada","cfg":{"b":1,"a":[true,null]}}', 1.0, 1.0),
                ("old-2", None, '{"user":"ada","n":2}', 2.0, 2.0),
                ("old-3", "alice", '{"user":"bob"}', 3.0, 3.0),
                ("bare", None, "{}", 4.0, 4.0),
            ],
        )

    for _ in range(2):  # the second open finds the index and adds nothing
        async with open_backend(f"sqlite:///{path}") as backend:
            registry = backend.registry
            by_user = ThreadQuery(metadata={"user": "ada"})
            assert ids(await registry.search(by_user)) == ["old-2", "old-1"]
            assert await registry.count(by_user) == 2
            nested = ThreadQuery(metadata={"cfg": {"a": [True, None], "b": 1}}, owner="alice")
            assert ids(await registry.search(nested)) == ["old-1"]
            assert ids(await registry.search(ThreadQuery(metadata={"n": 2}))) == ["old-2"]
            assert await registry.count(ThreadQuery(metadata={"user": "bob"}, owner="alice")) == 1
    with closing(sqlite3.connect(path)) as conn, conn:
        assert conn.execute("SELECT COUNT(*) FROM sessiongraph_thread_meta").fetchone() == (5,)

    async with open_backend(f"sqlite:///{path}") as backend:
        await backend.registry.update("old-1", metadata={"user": "carol"})
        assert ids(await backend.registry.search(ThreadQuery(metadata={"user": "ada"}))) == ["old-2"]
        assert ids(await backend.registry.search(ThreadQuery(metadata={"user": "carol"}))) == ["old-1"]


async def test_an_in_memory_database_searches_metadata_the_same_way() -> None:
    async with open_backend("sqlite:///:memory:") as backend:
        registry = backend.registry
        await registry.create("a", metadata={"user": "ada", "on": True})
        await registry.create("b", metadata={"user": "ada", "on": None})
        await registry.update("a", metadata={"on": False})
        assert ids(await registry.search(ThreadQuery(metadata={"user": "ada"}))) == ["a", "b"]
        assert ids(await registry.search(ThreadQuery(metadata={"on": False}))) == ["a"]
        assert ids(await registry.search(ThreadQuery(metadata={"on": None, "user": "ada"}))) == ["b"]
        assert await backend.delete_thread("b")
        assert await registry.count(ThreadQuery(metadata={"user": "ada"})) == 1


async def test_writes_from_another_connection_keep_the_index_in_step(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    async with open_backend(f"sqlite:///{path}") as backend:
        await backend.registry.create("a", metadata={"user": "ada"})
        await backend.registry.create("b", metadata={"user": "ada"})
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE sessiongraph_threads SET metadata = '{\"user\":\"bob\"}' WHERE thread_id = 'a'")
        conn.execute("DELETE FROM sessiongraph_threads WHERE thread_id = 'b'")
        conn.execute(
            "INSERT INTO sessiongraph_threads (thread_id, metadata, created_at, updated_at) "
            'VALUES (\'c\', \'{"user":"ada","n":1.5}\', 9.0, 9.0)'
        )
    async with open_backend(f"sqlite:///{path}") as backend:
        assert ids(await backend.registry.search(ThreadQuery(metadata={"user": "bob"}))) == ["a"]
        assert ids(await backend.registry.search(ThreadQuery(metadata={"user": "ada", "n": 1.5}))) == ["c"]
        assert await backend.registry.count(ThreadQuery(metadata={"user": "ada"})) == 1
    assert indexed_threads(path) == ["a", "c"]
