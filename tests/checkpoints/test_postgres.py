"""What only the Postgres backend does: schema setup once across processes, with versions (and an
upgrade that moves documents out of the store), and
pruning that leaves only the blobs the kept checkpoints reference (and vacuums after a large one),
the kept thread count."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest
from checkpoint_turns import TURNS, run_turns
from support.polling import until

from sessiongraph import Sessions
from sessiongraph.checkpoints import ThreadQuery, open_backend
from sessiongraph.checkpoints.documents import StoreDocumentTable
from sessiongraph.checkpoints.postgres import backend as postgres_backend
from sessiongraph.checkpoints.postgres.schema import SCHEMA_VERSION
from sessiongraph.settings import Settings


def new_database(server_url: str) -> str:
    """Create an empty database on the test server; its URL."""
    name = "fresh_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + "/" + name


async def test_several_processes_set_a_new_database_up_at_once(postgres_url: str) -> None:
    url = new_database(postgres_url)

    async def open_and_create(index: int) -> None:
        async with open_backend(url) as backend:
            await backend.registry.create(f"t-{index}")

    await asyncio.gather(*(open_and_create(i) for i in range(4)))

    with psycopg.connect(url) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM sessiongraph_schema")]
        threads = conn.execute("SELECT COUNT(*) FROM sessiongraph_threads").fetchone()
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    assert threads == (4,)


async def test_upgrading_to_version_5_moves_documents_out_of_the_store(postgres_url: str) -> None:
    """A database set up by a release before version 5 kept assistants and crons in the LangGraph
    store: the upgrade moves them to the document table, where inserts are claims across processes."""
    url = new_database(postgres_url)
    async with open_backend(url) as backend:
        with psycopg.connect(url, autocommit=True) as conn:  # back to version 4, as an older release left it
            conn.execute("DROP TABLE sessiongraph_documents")
            conn.execute("DELETE FROM sessiongraph_schema WHERE version = 5")
        older = StoreDocumentTable(backend.store, "assistants")
        await older.put("a1", {"assistant": {"name": "one"}, "versions": [1]})
        await StoreDocumentTable(backend.store, "cron_ticks").put("c1:300", {"at": 300.0})

        assert "migrated from version 4" in await backend.migrate()

        assert await backend.documents("assistants").get("a1") == {
            "assistant": {"name": "one"},
            "versions": [1],
        }
        assert not await backend.documents("cron_ticks").insert_if_absent("c1:300", {"at": 301.0})
        assert await older.all() == []


async def test_pruning_deletes_the_blobs_no_kept_checkpoint_references(postgres_clean_url: str) -> None:
    url = postgres_clean_url
    async with Sessions.open(url, settings=Settings(checkpoint_url=url, model="offline")) as sessions:
        await run_turns(sessions, "t", TURNS[:4])
        before = (await sessions.get_state("t")).values

        await sessions.prune(["t"], "keep_latest", keep_latest=1)

        with psycopg.connect(url) as conn:
            (versions,) = conn.execute(
                "SELECT checkpoint -> 'channel_versions' FROM checkpoints WHERE thread_id = 't'"
            ).fetchone() or (None,)
            blobs = conn.execute("SELECT channel, version FROM checkpoint_blobs WHERE thread_id = 't'")
            left = set(blobs.fetchall())
        assert left and left <= {(channel, str(version)) for channel, version in versions.items()}
        assert (await sessions.get_state("t")).values == before


async def test_the_thread_count_follows_creations_deletions_and_truncation(postgres_clean_url: str) -> None:
    async with open_backend(postgres_clean_url) as backend:
        registry = backend.registry
        for index in range(3):
            await registry.create(f"t-{index}")
        await registry.create("t-0", if_exists="do_nothing")
        await registry.update("t-1", metadata={"a": 1})
        await registry.delete("t-2")
        assert await registry.count(ThreadQuery()) == 2
        with psycopg.connect(postgres_clean_url, autocommit=True) as conn:
            conn.execute("TRUNCATE sessiongraph_threads")
        assert await registry.count(ThreadQuery()) == 0


async def test_a_large_prune_vacuums_the_tables(
    postgres_clean_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_backend, "VACUUM_AFTER_ROWS", 1)
    url = postgres_clean_url
    async with Sessions.open(url, settings=Settings(checkpoint_url=url, model="offline")) as sessions:
        await run_turns(sessions, "t", TURNS[:2])
        await sessions.prune(["t"], "keep_latest", keep_latest=1)

    async def vacuumed() -> bool:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'checkpoint_blobs'"
            ).fetchone()
        return bool(row and row[0] > 0)

    await until(vacuumed, "checkpoint_blobs to be vacuumed")
