"""The tables this package adds next to the official saver's and store's, with schema versions.

Versions 1-3 hold the thread registry and run records; version 4 the tables (and two functions)
of run coordination on PostgreSQL alone, used by ``sessiongraph.api.coordination.postgres_*``:
thread lock queues, run streams and their events, worker leases and recovery claims; version 5
the document table (assistants, crons, cron tick claims; :mod:`.documents`).

``MIGRATIONS[i]`` brings the schema to version ``i + 1``; :func:`migrate` applies the missing
ones in order under a transaction-level advisory lock, so several processes starting at once (API
workers, replicas) set the schema up exactly once. The saver's and the store's own tables are
versioned by their ``setup()`` (``checkpoint_migrations``, ``store_migrations``).
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

SETUP_LOCK = 0x5E55_1096
"""``pg_advisory_lock`` key that serializes schema setup across processes."""

LOCK_NAMESPACE = 0x5E55
"""First key of the per-thread ``pg_advisory_xact_lock(LOCK_NAMESPACE, hashtext(thread_id))`` that
serializes the changes to one thread's lock queue (two int4 keys: never :data:`SETUP_LOCK`)."""

LOCK_CHANNEL = "sessiongraph_lock"
"""``NOTIFY`` channel of the thread locks; the payload is the token of the waiter to wake."""

# Checks whether p_token holds p_thread, joining the queue's tail if it is not in it (a first
# call, or a token reaped while its process stalled) and renewing its lease. Leases that lapsed
# (crashed processes) are reaped; a new head that is not p_token is woken.
LOCK_CHECK = f"""CREATE OR REPLACE FUNCTION sessiongraph_lock_check(
    p_thread TEXT, p_token TEXT, p_lease_s DOUBLE PRECISION
) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
DECLARE
    head   TEXT;
    reaped INTEGER;
    t      TIMESTAMPTZ;
BEGIN
    PERFORM pg_advisory_xact_lock({LOCK_NAMESPACE}, hashtext(p_thread));
    t := clock_timestamp();
    DELETE FROM sessiongraph_thread_locks
        WHERE thread_id = p_thread AND expires_at < t AND token <> p_token;
    GET DIAGNOSTICS reaped = ROW_COUNT;
    UPDATE sessiongraph_thread_locks SET expires_at = t + make_interval(secs => p_lease_s)
        WHERE token = p_token;
    IF NOT FOUND THEN
        INSERT INTO sessiongraph_thread_locks (thread_id, token, expires_at)
        VALUES (p_thread, p_token, t + make_interval(secs => p_lease_s));
    END IF;
    SELECT token INTO head FROM sessiongraph_thread_locks
        WHERE thread_id = p_thread ORDER BY seq LIMIT 1;
    IF head = p_token THEN
        RETURN TRUE;
    END IF;
    IF reaped > 0 THEN
        PERFORM pg_notify('{LOCK_CHANNEL}', head);
    END IF;
    RETURN FALSE;
END $$"""

# Leaves p_thread's queue; wakes the next waiter when p_token held the thread (or lapsed
# leases were reaped on the way).
LOCK_RELEASE = f"""CREATE OR REPLACE FUNCTION sessiongraph_lock_release(p_thread TEXT, p_token TEXT)
RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    head   TEXT;
    reaped INTEGER;
BEGIN
    PERFORM pg_advisory_xact_lock({LOCK_NAMESPACE}, hashtext(p_thread));
    SELECT token INTO head FROM sessiongraph_thread_locks
        WHERE thread_id = p_thread ORDER BY seq LIMIT 1;
    DELETE FROM sessiongraph_thread_locks WHERE token = p_token;
    DELETE FROM sessiongraph_thread_locks WHERE thread_id = p_thread AND expires_at < clock_timestamp();
    GET DIAGNOSTICS reaped = ROW_COUNT;
    IF head = p_token OR reaped > 0 THEN
        SELECT token INTO head FROM sessiongraph_thread_locks
            WHERE thread_id = p_thread ORDER BY seq LIMIT 1;
        IF head IS NOT NULL THEN
            PERFORM pg_notify('{LOCK_CHANNEL}', head);
        END IF;
    END IF;
END $$"""

DOCUMENTS_PREFIX = "__sessiongraph__."
"""Where documents lived in the LangGraph store before version 5 (``StoreDocumentTable``)."""
DOCUMENT_PREFIXES = "('__sessiongraph__.assistants', '__sessiongraph__.crons', '__sessiongraph__.cron_ticks')"

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE IF NOT EXISTS sessiongraph_threads (
        thread_id   TEXT PRIMARY KEY,
        owner       TEXT,
        status      TEXT NOT NULL DEFAULT 'idle',
        metadata    JSONB NOT NULL DEFAULT '{}'::jsonb,
        created_at  DOUBLE PRECISION NOT NULL,
        updated_at  DOUBLE PRECISION NOT NULL,
        ttl_minutes DOUBLE PRECISION
        )""",
        "CREATE INDEX IF NOT EXISTS sessiongraph_threads_updated "
        "ON sessiongraph_threads (updated_at, thread_id)",
        "CREATE INDEX IF NOT EXISTS sessiongraph_threads_owner "
        "ON sessiongraph_threads (owner, updated_at, thread_id)",
        "CREATE INDEX IF NOT EXISTS sessiongraph_threads_metadata "
        "ON sessiongraph_threads USING GIN (metadata jsonb_path_ops)",
        "CREATE INDEX IF NOT EXISTS sessiongraph_threads_expiry "
        "ON sessiongraph_threads ((updated_at + ttl_minutes * 60.0)) WHERE ttl_minutes IS NOT NULL",
    ),
    # 2: the number of threads, kept by triggers: COUNT(*) reads the whole table.
    (
        "CREATE TABLE IF NOT EXISTS sessiongraph_thread_count ("
        "id INTEGER PRIMARY KEY CHECK (id = 1), n BIGINT NOT NULL)",
        "INSERT INTO sessiongraph_thread_count (id, n) SELECT 1, COUNT(*) FROM sessiongraph_threads "
        "ON CONFLICT (id) DO UPDATE SET n = EXCLUDED.n",
        """CREATE OR REPLACE FUNCTION sessiongraph_count_threads() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'TRUNCATE' THEN
                INSERT INTO sessiongraph_thread_count (id, n) VALUES (1, 0)
                ON CONFLICT (id) DO UPDATE SET n = 0;
            ELSE
                INSERT INTO sessiongraph_thread_count AS c (id, n)
                VALUES (1, CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END)
                ON CONFLICT (id) DO UPDATE SET n = c.n + EXCLUDED.n;
            END IF;
            RETURN NULL;
        END $$""",
        "CREATE OR REPLACE TRIGGER sessiongraph_threads_counted AFTER INSERT OR DELETE "
        "ON sessiongraph_threads FOR EACH ROW EXECUTE FUNCTION sessiongraph_count_threads()",
        "CREATE OR REPLACE TRIGGER sessiongraph_threads_truncated AFTER TRUNCATE "
        "ON sessiongraph_threads FOR EACH STATEMENT EXECUTE FUNCTION sessiongraph_count_threads()",
    ),
    # 3: run records (durable, so runs survive a restart and crash recovery finds them).
    (
        """CREATE TABLE IF NOT EXISTS sessiongraph_runs (
            seq       BIGSERIAL UNIQUE,
            run_id    TEXT PRIMARY KEY,
            thread_id TEXT NOT NULL,
            status    TEXT NOT NULL,
            record    TEXT NOT NULL,
            result    BYTEA
        )""",
        "CREATE INDEX IF NOT EXISTS sessiongraph_runs_thread ON sessiongraph_runs (thread_id, seq)",
        "CREATE INDEX IF NOT EXISTS sessiongraph_runs_active ON sessiongraph_runs (seq) "
        "WHERE status IN ('pending', 'running')",
    ),
    # 4: run coordination on PostgreSQL alone (``sessiongraph.api.coordination.postgres_*``).
    (
        # Thread locks: a FIFO queue of leases per thread; the row with the lowest seq holds it.
        """CREATE TABLE IF NOT EXISTS sessiongraph_thread_locks (
            seq        BIGSERIAL PRIMARY KEY,
            thread_id  TEXT NOT NULL,
            token      TEXT NOT NULL UNIQUE,
            expires_at TIMESTAMPTZ NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS sessiongraph_thread_locks_queue "
        "ON sessiongraph_thread_locks (thread_id, seq)",
        LOCK_CHECK,
        LOCK_RELEASE,
        # Run streams: one row per run (its last sequence number, closed or not), its events.
        """CREATE TABLE IF NOT EXISTS sessiongraph_streams (
            run_id     TEXT PRIMARY KEY,
            last_seq   BIGINT NOT NULL DEFAULT 0,
            closed     BOOLEAN NOT NULL DEFAULT FALSE,
            touched_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )""",
        """CREATE TABLE IF NOT EXISTS sessiongraph_stream_events (
            run_id TEXT NOT NULL REFERENCES sessiongraph_streams (run_id) ON DELETE CASCADE,
            seq    BIGINT NOT NULL,
            event  TEXT NOT NULL,
            data   BYTEA NOT NULL,
            PRIMARY KEY (run_id, seq)
        )""",
        # Worker leases, and claims on the runs of dead workers (one reclaimer per run).
        "CREATE TABLE IF NOT EXISTS sessiongraph_workers ("
        "worker_id TEXT PRIMARY KEY, expires_at TIMESTAMPTZ NOT NULL)",
        "CREATE TABLE IF NOT EXISTS sessiongraph_run_claims ("
        "run_id TEXT PRIMARY KEY, worker_id TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL)",
    ),
    # 5: documents (assistants, crons, cron tick claims) in a table of their own, whose insert is
    # a claim atomic across processes; moved out of the LangGraph store, where they were before.
    (
        "CREATE TABLE IF NOT EXISTS sessiongraph_documents ("
        "kind TEXT NOT NULL, key TEXT NOT NULL, doc JSONB NOT NULL, PRIMARY KEY (kind, key))",
        f"""DO $$
        BEGIN
            IF to_regclass('store') IS NOT NULL THEN
                INSERT INTO sessiongraph_documents (kind, key, doc)
                SELECT substr(prefix, {len(DOCUMENTS_PREFIX) + 1}), key, value FROM store
                WHERE prefix IN {DOCUMENT_PREFIXES} ON CONFLICT DO NOTHING;
                DELETE FROM store WHERE prefix IN {DOCUMENT_PREFIXES};
            END IF;
        END $$""",
    ),
)
"""The registry's schema: per version, its statements."""

SCHEMA_VERSION = len(MIGRATIONS)


async def schema_version(conn: AsyncConnection[Any]) -> int:
    """The registry schema version of the database (0 before the first setup)."""
    cursor = await conn.execute("SELECT to_regclass('sessiongraph_schema') IS NOT NULL AS present")
    row = await cursor.fetchone()
    if not row or not _first(row):
        return 0
    cursor = await conn.execute("SELECT COALESCE(MAX(version), 0) AS v FROM sessiongraph_schema")
    row = await cursor.fetchone()
    return int(_first(row)) if row else 0


async def migrate(conn: AsyncConnection[Any]) -> tuple[int, int]:
    """Apply the missing migrations; returns ``(version_before, version_after)``."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SETUP_LOCK,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS sessiongraph_schema ("
            "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        before = await schema_version(conn)
        if before > SCHEMA_VERSION:
            raise RuntimeError(
                f"the database has sessiongraph schema version {before}, newer than this "
                f"release's {SCHEMA_VERSION}; upgrade sessiongraph"
            )
        for version in range(before + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[version - 1]:
                await conn.execute(statement.encode())
            await conn.execute("INSERT INTO sessiongraph_schema (version) VALUES (%s)", (version,))
    return before, SCHEMA_VERSION


def _first(row: Any) -> Any:
    return next(iter(row.values())) if isinstance(row, dict) else row[0]
