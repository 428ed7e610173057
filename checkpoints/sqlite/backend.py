"""The SQLite backend: ``AsyncSqliteSaver`` + ``AsyncSqliteStore`` + the thread registry, one file.

``sqlite:///rel/path.db`` is resolved against the working directory, ``sqlite:////abs/path.db``
is absolute, ``sqlite:///:memory:`` is an in-memory database. Files use WAL and a busy timeout;
new files use incremental auto-vacuum, so pruned checkpoints give their pages back.

The saver has no pruning of its own: rows of ``checkpoints`` and ``writes`` older than the N-th
newest are deleted here, then ``PRAGMA incremental_vacuum`` returns the pages. "Bytes stored" is
the length of the thread's rows (serialized checkpoint, metadata and write values).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.store.sqlite.aio import AsyncSqliteStore
from langgraph.store.sqlite.base import SqliteIndexConfig

from sessiongraph.checkpoints.base import Backend, BackendOptions, BackendURLError
from sessiongraph.checkpoints.documents import DocumentTable
from sessiongraph.checkpoints.sqlite.documents import SCHEMA as DOCUMENTS_SCHEMA
from sessiongraph.checkpoints.sqlite.documents import SqliteDocumentTable
from sessiongraph.checkpoints.sqlite.registry import SqliteThreadRegistry
from sessiongraph.checkpoints.sqlite.runs import SqliteRunRegistry
from sessiongraph.checkpoints.stats import StorageStats


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite://`` URL (``None`` for ``sqlite:///:memory:``)."""
    raw = url.removeprefix("sqlite://")
    if not raw.startswith("/"):
        raise BackendURLError(f"{url!r}: write sqlite:///relative/path.db or sqlite:////absolute/path.db")
    raw = raw[1:]
    if raw in ("", ":memory:"):
        return None
    return Path(raw)


async def connect(path: Path | None, busy_timeout_ms: int) -> aiosqlite.Connection:
    """A connection in autocommit mode with the backend's pragmas."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(str(path) if path else ":memory:", isolation_level=None)
    await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    if path is not None:
        # Takes effect only on a new, empty file (before the first table).
        await conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
    return conn


async def incremental_vacuum(conn: aiosqlite.Connection) -> int:
    """Give free pages back to the file system; returns the pages still free afterwards.

    Does nothing on a file created without ``auto_vacuum = INCREMENTAL`` (a one-off
    ``PRAGMA auto_vacuum = INCREMENTAL; VACUUM`` converts an older file).
    """
    async with conn.execute("PRAGMA auto_vacuum") as cursor:
        mode = (await cursor.fetchone() or (0,))[0]
    if mode == 2:
        # The pragma frees one page per step; ``execute`` steps once, ``executescript`` to the end.
        await conn.executescript("PRAGMA incremental_vacuum;")
    async with conn.execute("PRAGMA freelist_count") as cursor:
        return int((await cursor.fetchone() or (0,))[0])


async def vector_search_unavailable(conn: aiosqlite.Connection) -> str | None:
    """Why the SQLite store cannot index vectors on this Python (``None``: it can).

    ``AsyncSqliteStore`` loads the sqlite-vec extension, which needs a ``sqlite3`` module built
    with loadable extensions (Debian's is; some pyenv and macOS builds are not).
    """
    try:
        import sqlite_vec

        await conn.enable_load_extension(True)
        await conn.load_extension(sqlite_vec.loadable_path())
        await conn.enable_load_extension(False)
    except ImportError:
        return "the sqlite-vec package is not installed"
    except (AttributeError, sqlite3.Error) as exc:
        return f"this Python's sqlite3 cannot load the sqlite-vec extension ({type(exc).__name__}: {exc})"
    return None


class SqliteBackend(Backend):
    """``sqlite://`` (see the module docstring)."""

    name = "sqlite"
    checkpointer: AsyncSqliteSaver

    def __init__(
        self,
        url: str,
        checkpointer: AsyncSqliteSaver,
        store: AsyncSqliteStore,
        registry: SqliteThreadRegistry,
        path: Path | None,
        runs: SqliteRunRegistry,
    ) -> None:
        super().__init__(url, checkpointer, store, registry, runs=runs)
        self.registry: SqliteThreadRegistry = registry
        self.path = path
        """The database file (``None`` for an in-memory database)."""

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, url: str, options: BackendOptions) -> AsyncIterator[SqliteBackend]:
        """See :meth:`Backend.open`."""
        path = sqlite_path(url)
        async with contextlib.AsyncExitStack() as stack:
            # Saver, store, thread registry and run records each get a connection so their
            # transactions never interleave; an in-memory database exists per connection, so
            # there they share one.
            connections = []
            for _ in range(4 if path is not None else 1):
                conn = await connect(path, options.sqlite_busy_timeout_ms)
                stack.push_async_callback(conn.close)
                connections.append(conn)
            connections += [connections[0]] * (4 - len(connections))
            saver = AsyncSqliteSaver(connections[0])
            await saver.setup()
            unavailable = None
            index: SqliteIndexConfig | None = None
            if options.store_index is not None:
                unavailable = await vector_search_unavailable(connections[1])
                if unavailable is None:
                    # AsyncSqliteStore reads the embedded fields from "text_fields", not from the
                    # "fields" of langgraph's IndexConfig (without it, it embeds the whole value).
                    fields = list(options.store_index.get("fields") or ["$"])
                    index = SqliteIndexConfig(**options.store_index, text_fields=fields)  # type: ignore[typeddict-unknown-key]
            store = AsyncSqliteStore(connections[1], index=index)
            await store.setup()
            await connections[2].executescript(DOCUMENTS_SCHEMA)
            registry = SqliteThreadRegistry(connections[2])
            backend = cls(url, saver, store, registry, path, SqliteRunRegistry(connections[3]))
            backend.index_unavailable = unavailable
            yield backend

    def documents(self, kind: str) -> DocumentTable:
        """See :meth:`Backend.documents`: ``sessiongraph_documents`` on the registry's connection."""
        return SqliteDocumentTable(self.registry.conn, self.registry.lock, kind)

    async def _prune(self, thread_ids: list[str], keep_latest: int) -> None:
        saver = self.checkpointer
        async with saver.lock:
            deleted = 0
            for thread_id in thread_ids:
                async with saver.conn.execute(
                    "SELECT DISTINCT checkpoint_ns FROM checkpoints WHERE thread_id = ?", (thread_id,)
                ) as cursor:
                    namespaces = [row[0] for row in await cursor.fetchall()]
                for ns in namespaces:
                    deleted += await self._prune_namespace(thread_id, ns, keep_latest)
            if deleted:
                await incremental_vacuum(saver.conn)

    async def _prune_namespace(self, thread_id: str, ns: str, keep: int) -> int:
        conn = self.checkpointer.conn
        async with conn.execute(
            "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? "
            "ORDER BY checkpoint_id DESC LIMIT 1 OFFSET ?",
            (thread_id, ns, keep - 1),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return 0
        where = "thread_id = ? AND checkpoint_ns = ? AND checkpoint_id < ?"
        params = (thread_id, ns, row[0])
        await conn.execute("BEGIN IMMEDIATE")
        try:
            cursor = await conn.execute(f"DELETE FROM checkpoints WHERE {where}", params)
            deleted = cursor.rowcount
            await conn.execute(f"DELETE FROM writes WHERE {where}", params)
            await conn.execute(
                "UPDATE checkpoints SET parent_checkpoint_id = NULL "
                "WHERE thread_id = ? AND checkpoint_ns = ? AND parent_checkpoint_id < ?",
                params,
            )
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        return max(deleted, 0)

    async def head_checkpoint_id(self, thread_id: str) -> str | None:
        """See :meth:`Backend.head_checkpoint_id` (the saver's own ordering, by id)."""
        saver = self.checkpointer
        async with (
            saver.lock,
            saver.conn.execute(
                "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' "
                "ORDER BY checkpoint_id DESC LIMIT 1",
                (thread_id,),
            ) as cursor,
        ):
            row = await cursor.fetchone()
        return str(row[0]) if row else None

    async def discard_after(self, thread_id: str, checkpoint_id: str) -> bool:
        """See :meth:`Backend.discard_after` (checkpoint ids sort by time)."""
        saver = self.checkpointer
        async with saver.lock:
            for table in ("writes", "checkpoints"):
                await saver.conn.execute(
                    f"DELETE FROM {table} WHERE thread_id = ? AND checkpoint_id > ?",
                    (thread_id, checkpoint_id),
                )
            await saver.conn.commit()
        return True

    async def storage_stats(self, thread_id: str) -> StorageStats:
        """See :meth:`Backend.storage_stats`."""
        saver = self.checkpointer
        async with saver.lock:
            async with saver.conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(checkpoint) + LENGTH(metadata)), 0) "
                "FROM checkpoints WHERE thread_id = ?",
                (thread_id,),
            ) as cursor:
                count, checkpoint_bytes = await cursor.fetchone() or (0, 0)
            async with saver.conn.execute(
                "SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes WHERE thread_id = ?", (thread_id,)
            ) as cursor:
                (write_bytes,) = await cursor.fetchone() or (0,)
        return StorageStats(checkpoints=int(count), bytes_stored=int(checkpoint_bytes) + int(write_bytes))
