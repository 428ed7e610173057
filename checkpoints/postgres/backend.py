"""The PostgreSQL backend: ``AsyncPostgresSaver`` + ``AsyncPostgresStore`` + a thread registry.

``postgresql://user:password@host:port/db`` (``postgres://`` too; any libpq URL). Saver, store
and registry share one ``psycopg_pool.AsyncConnectionPool`` (autocommit, dict rows, a health
check on checkout). The schema is set up when the backend opens, once across processes (an
advisory lock), with versions (:mod:`.schema`); ``sessiongraph migrate`` runs the same step.

Pruning keeps the newest N checkpoints of each namespace, deletes older checkpoints and their
writes, then the blobs only those checkpoints referenced, and makes the oldest kept checkpoint
the root. Deleted rows become free space that Postgres reuses after ``VACUUM``: autovacuum
does it in time, and a prune that deleted many rows runs ``VACUUM`` on the three tables at
once. Expiry is swept (:class:`~sessiongraph.checkpoints.expiry.TTLSweeper`) through the
registry's expiry index. "Bytes stored" is ``pg_column_size`` of the thread's checkpoints,
metadata, blobs and writes (as stored, i.e. after TOAST compression).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator
from typing import Any

from langgraph.store.postgres.aio import AsyncPostgresStore
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from sessiongraph.checkpoints.base import Backend, BackendOptions
from sessiongraph.checkpoints.documents import DocumentTable
from sessiongraph.checkpoints.postgres import schema
from sessiongraph.checkpoints.postgres.documents import PostgresDocumentTable
from sessiongraph.checkpoints.postgres.registry import PostgresThreadRegistry
from sessiongraph.checkpoints.postgres.runs import PostgresRunRegistry
from sessiongraph.checkpoints.postgres.saver import PooledPostgresSaver
from sessiongraph.checkpoints.stats import StorageStats

SETUP_POLL_S = 0.05
"""How often a process waiting for another's schema setup checks again."""
VACUUM_AFTER_ROWS = 2_000
"""Rows deleted by pruning (since the last one) after which the tables are vacuumed at once."""


def connection_kwargs() -> dict[str, Any]:
    """What every pooled connection is opened with (as the official packages require)."""
    return {"autocommit": True, "row_factory": dict_row, "prepare_threshold": 0}


@contextlib.asynccontextmanager
async def open_pool(
    url: str,
    max_size: int,
    timeout_s: float = 10.0,
    *,
    unchecked_s: float = 0.0,
    open_timeout_s: float = 30.0,
) -> AsyncIterator[AsyncConnectionPool[Any]]:
    """An open connection pool for ``url``, closed on exit.

    Opening waits up to ``open_timeout_s`` for the server; afterwards a caller waits up to
    ``timeout_s`` for a connection (then ``PoolTimeout``, which callers answer as "store
    unavailable": while PostgreSQL is down, requests fail in seconds rather than hang).

    A connection is checked (one round trip) when it leaves the pool, unless it came back less
    than ``unchecked_s`` seconds ago: for many short calls (run coordination) the check would
    double the round trips, and a connection that just worked rarely broke since."""
    checks = _Checks(unchecked_s)
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url,
        min_size=min(2, max_size),
        max_size=max(2, max_size),
        kwargs=connection_kwargs(),
        check=checks.check,
        reset=checks.returned if unchecked_s > 0 else None,
        timeout=timeout_s,
        open=False,
    )
    await pool.open(wait=True, timeout=open_timeout_s)
    try:
        yield pool
    finally:
        await pool.close()


class _Checks:
    """The pool's check on checkout, skipped for connections returned within ``unchecked_s``."""

    def __init__(self, unchecked_s: float) -> None:
        self._unchecked_s = unchecked_s
        self._returned: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = weakref.WeakKeyDictionary()

    async def returned(self, conn: AsyncConnection[Any]) -> None:
        self._returned[conn] = time.monotonic()

    async def check(self, conn: AsyncConnection[Any]) -> None:
        returned = self._returned.get(conn)
        if returned is None or time.monotonic() - returned > self._unchecked_s:
            await AsyncConnectionPool.check_connection(conn)


async def setup_schema(pool: AsyncConnectionPool[Any]) -> tuple[int, int]:
    """Create or upgrade every table (saver, store, registry) once across processes; returns the
    registry schema version ``(before, after)``."""
    async with pool.connection() as conn, _setting_up(conn):
        await PooledPostgresSaver(pool).setup()
        await AsyncPostgresStore(pool).setup()
        return await schema.migrate(conn)


async def setup_own_tables(pool: AsyncConnectionPool[Any]) -> None:
    """Create or upgrade this package's tables only (not the saver's or the store's), once across
    processes: what a database used for run coordination alone needs. Cheap when up to date."""
    async with pool.connection() as conn:
        if await schema.schema_version(conn) == schema.SCHEMA_VERSION:
            return
        async with _setting_up(conn):
            await schema.migrate(conn)


@contextlib.asynccontextmanager
async def _setting_up(conn: AsyncConnection[Any]) -> AsyncIterator[None]:
    # Session-level: the saver and store set up over other pool connections meanwhile. Polled
    # with try-lock, never waited for in a statement: a waiting statement holds a snapshot, and
    # the saver's CREATE INDEX CONCURRENTLY would wait for that snapshot forever.
    while not await _try_lock(conn, schema.SETUP_LOCK):
        await asyncio.sleep(SETUP_POLL_S)
    try:
        yield
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (schema.SETUP_LOCK,))


async def _try_lock(conn: AsyncConnection[Any], key: int) -> bool:
    cursor = await conn.execute("SELECT pg_try_advisory_lock(%s) AS locked", (key,))
    row = await cursor.fetchone()
    return bool(row and row["locked"])


class PostgresBackend(Backend):
    """``postgresql://`` and ``postgres://`` (see the module docstring)."""

    name = "postgres"
    shared = True
    checkpointer: PooledPostgresSaver

    def __init__(
        self,
        url: str,
        checkpointer: PooledPostgresSaver,
        store: AsyncPostgresStore,
        registry: PostgresThreadRegistry,
        pool: AsyncConnectionPool[Any],
    ) -> None:
        super().__init__(url, checkpointer, store, registry, runs=PostgresRunRegistry(pool))
        self.pool = pool
        self._deleted_since_vacuum = 0

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, url: str, options: BackendOptions) -> AsyncIterator[PostgresBackend]:
        """See :meth:`Backend.open`."""
        async with open_pool(url, options.postgres_pool_size) as pool:
            await setup_schema(pool)
            saver = PooledPostgresSaver(pool)
            store = AsyncPostgresStore(pool)
            backend = cls(url, saver, store, PostgresThreadRegistry(pool), pool)
            if options.store_index is not None:
                # The store's vector index needs the pgvector extension, which a stock server
                # lacks; memory recall then falls back to recency (said at start-up).
                backend.index_unavailable = "the PostgreSQL store is opened without pgvector"
            yield backend

    @property
    def coordination_url(self) -> str | None:
        """The same database: replicas that share the sessions coordinate their runs there too
        (row leases and ``LISTEN``/``NOTIFY``), unless ``SESSIONGRAPH_COORDINATION_URL`` says
        otherwise."""
        return self.url

    def documents(self, kind: str) -> DocumentTable:
        """See :meth:`Backend.documents`: ``sessiongraph_documents``, shared by the replicas."""
        return PostgresDocumentTable(self.pool, kind)

    async def migrate(self) -> str:
        """See :meth:`Backend.migrate`."""
        before, after = await setup_schema(self.pool)
        change = f"migrated from version {before}" if before != after else "up to date"
        return f"postgres: schema version {after} ({change}); checkpoint and store tables set up"

    async def head_checkpoint_id(self, thread_id: str) -> str | None:
        """See :meth:`Backend.head_checkpoint_id` (the saver's own ordering, by id)."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT checkpoint_id FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = '' "
                "ORDER BY checkpoint_id DESC LIMIT 1",
                (thread_id,),
            )
            row = await cursor.fetchone()
        return str(row["checkpoint_id"]) if row else None

    async def _prune(self, thread_ids: list[str], keep_latest: int) -> None:
        deleted = 0
        for thread_id in thread_ids:
            async with self.pool.connection() as conn, conn.transaction():
                cursor = await conn.execute(
                    "SELECT DISTINCT checkpoint_ns FROM checkpoints WHERE thread_id = %s", (thread_id,)
                )
                for row in await cursor.fetchall():
                    deleted += await _prune_namespace(conn, thread_id, row["checkpoint_ns"], keep_latest)
        self._deleted_since_vacuum += deleted
        if self._deleted_since_vacuum >= VACUUM_AFTER_ROWS:
            self._deleted_since_vacuum = 0
            async with self.pool.connection() as conn:
                await conn.execute("VACUUM checkpoints, checkpoint_blobs, checkpoint_writes")

    async def storage_stats(self, thread_id: str) -> StorageStats:
        """See :meth:`Backend.storage_stats`."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(_STATS_SQL, {"t": thread_id})
            row = await cursor.fetchone() or {"checkpoints": 0, "bytes": 0}
        return StorageStats(checkpoints=int(row["checkpoints"]), bytes_stored=int(row["bytes"]))


_STATS_SQL = """
SELECT
    (SELECT COUNT(*) FROM checkpoints WHERE thread_id = %(t)s) AS checkpoints,
    (SELECT COALESCE(SUM(pg_column_size(checkpoint) + pg_column_size(metadata)), 0)
        FROM checkpoints WHERE thread_id = %(t)s)
    + (SELECT COALESCE(SUM(pg_column_size(blob)), 0) FROM checkpoint_blobs WHERE thread_id = %(t)s)
    + (SELECT COALESCE(SUM(pg_column_size(blob)), 0) FROM checkpoint_writes WHERE thread_id = %(t)s)
    AS bytes
"""


async def _prune_namespace(conn: AsyncConnection[Any], thread_id: str, ns: str, keep: int) -> int:
    """Prune one namespace inside the caller's transaction; returns the rows deleted."""
    key = {"t": thread_id, "ns": ns}
    cursor = await conn.execute(
        "SELECT checkpoint_id FROM checkpoints WHERE thread_id = %(t)s AND checkpoint_ns = %(ns)s "
        "ORDER BY checkpoint_id DESC LIMIT 1 OFFSET %(skip)s",
        {**key, "skip": keep - 1},
    )
    row = await cursor.fetchone()
    if row is None:
        return 0
    where = "thread_id = %(t)s AND checkpoint_ns = %(ns)s AND checkpoint_id < %(cut)s"
    params = {**key, "cut": row["checkpoint_id"]}
    cursor = await conn.execute(
        f"DELETE FROM checkpoints WHERE {where} RETURNING checkpoint -> 'channel_versions' AS versions",
        params,
    )
    freed = _versions(await cursor.fetchall())
    deleted = cursor.rowcount
    cursor = await conn.execute(f"DELETE FROM checkpoint_writes WHERE {where}", params)
    deleted += cursor.rowcount
    await conn.execute(
        "UPDATE checkpoints SET parent_checkpoint_id = NULL WHERE thread_id = %(t)s "
        "AND checkpoint_ns = %(ns)s AND parent_checkpoint_id < %(cut)s",
        params,
    )
    cursor = await conn.execute(
        "SELECT checkpoint -> 'channel_versions' AS versions FROM checkpoints "
        "WHERE thread_id = %(t)s AND checkpoint_ns = %(ns)s",
        key,
    )
    # Only blobs that pruned checkpoints referenced and no kept one does: a blob a running
    # turn wrote just before its checkpoint row is never touched.
    garbage = sorted(freed - _versions(await cursor.fetchall()))
    if garbage:
        cursor = await conn.execute(
            "DELETE FROM checkpoint_blobs WHERE thread_id = %(t)s AND checkpoint_ns = %(ns)s "
            "AND (channel, version) IN (SELECT * FROM unnest(%(ch)s::text[], %(ver)s::text[]))",
            {**key, "ch": [c for c, _ in garbage], "ver": [v for _, v in garbage]},
        )
        deleted += cursor.rowcount
    return max(deleted, 0)


def _versions(rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(channel, str(version)) for row in rows for channel, version in (row["versions"] or {}).items()}
