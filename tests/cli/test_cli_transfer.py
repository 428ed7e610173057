"""`threads export` / `threads import` copy threads from SQLite to Postgres; `migrate` reports the schema."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import Result

from sessiongraph import Sessions, Settings
from sessiongraph.checkpoints import ThreadInfo
from sessiongraph.checkpoints.postgres.schema import SCHEMA_VERSION

TURNS = [
    "My name is Ada.",
    "12*7 and 3+4",
    "Tell me a story about a small graph.",
    "Count the words in: one two three four five",
    "Nothing to compute, just chatting a little longer.",
    "what is 2+2 and 3*3?",
    "And one more line of small talk.",
]
# Recall off: the export carries the conversation and summary, not the memory archive.
BUDGET = {
    "summary_trigger_tokens": 300,
    "summary_keep_tokens": 150,
    "summary_max_tokens": 140,
    "recall_passages": 0,
    "pinned_max_tokens": 0,
}


async def fill(url: str) -> tuple[dict[str, Any], ThreadInfo]:
    """Two threads on ``url``: one with a summarized conversation, one empty."""
    async with Sessions.open(settings=Settings(checkpoint_url=url, model="offline")) as sessions:
        await sessions.create_thread("ada", metadata={"user": "ada"}, owner="alice", ttl_minutes=90)
        for text in TURNS:
            await sessions.invoke("ada", text, context=BUDGET)
        await sessions.create_thread("empty", metadata={"user": "bob"})
        return (await sessions.get_state("ada")).values, await sessions.get_thread("ada")


def test_threads_move_from_sqlite_to_postgres_and_go_on(
    cli: Callable[..., Result], sqlite_url: str, postgres_clean_url: str, tmp_path: Path
) -> None:
    source, ada = asyncio.run(fill(sqlite_url))
    dump = tmp_path / "threads.jsonl"

    assert cli(["threads", "export", "-o", str(dump)]).exit_code == 0
    lines = [json.loads(line) for line in dump.read_text().splitlines()]
    assert [line["thread_id"] for line in lines] == ["ada", "empty"]
    assert lines[0]["summary"] == source["summary"] != ""

    imported = cli(["threads", "import", str(dump)], url=postgres_clean_url)
    assert imported.stdout.strip() == "imported 2 thread(s), skipped 0 existing"
    again = cli(["threads", "import", str(dump)], url=postgres_clean_url)
    assert again.stdout.strip() == "imported 0 thread(s), skipped 2 existing"

    asyncio.run(check_copy(postgres_clean_url, source, ada))
    # The next turn sees the same conversation and summary on either backend.
    assert asyncio.run(next_answer(postgres_clean_url)) == asyncio.run(next_answer(sqlite_url))


async def next_answer(url: str) -> str:
    """The answer to one more turn on the ``ada`` thread at ``url``."""
    async with Sessions.open(settings=Settings(checkpoint_url=url, model="offline")) as sessions:
        values = await sessions.invoke("ada", "What did we talk about?", context=BUDGET)
        return str(values["messages"][-1].content)


async def check_copy(url: str, source: dict[str, Any], ada: ThreadInfo) -> None:
    """The copied threads carry record, conversation and summary, and the conversation goes on."""
    async with Sessions.open(settings=Settings(checkpoint_url=url, model="offline")) as sessions:
        copy = await sessions.get_thread("ada")
        assert (copy.metadata, copy.owner, copy.ttl_minutes, copy.status) == (
            {"user": "ada"},
            "alice",
            90,
            "idle",
        )
        assert copy.updated_at == ada.updated_at
        state = (await sessions.get_state("ada")).values
        assert [m.content for m in state["messages"]] == [m.content for m in source["messages"]]
        assert (state["summary"], state["summarized_messages"]) == (
            source["summary"],
            source["summarized_messages"],
        )
        assert (await sessions.get_thread("empty")).metadata == {"user": "bob"}


def test_import_names_the_bad_line(cli: Callable[..., Result], tmp_path: Path) -> None:
    dump = tmp_path / "bad.jsonl"
    dump.write_text(
        '{"format": "sessiongraph.thread/1", "thread_id": "a", "created_at": 1, "updated_at": 1}\n{oops\n'
    )

    result = cli(["threads", "import", str(dump)])

    assert result.exit_code == 2
    assert "line 2: not JSON" in result.stderr


def test_migrate_reports_the_schema(cli: Callable[..., Result], postgres_clean_url: str) -> None:
    assert cli(["migrate"]).stdout.strip() == "sqlite: no schema to migrate"
    postgres = cli(["migrate"], url=postgres_clean_url).stdout
    assert postgres.startswith(f"postgres: schema version {SCHEMA_VERSION} (up to date)")
