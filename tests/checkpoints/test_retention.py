"""Checkpoint pruning on memory, SQLite and Redis: state, summary, history and time travel survive."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from checkpoint_turns import TURNS, OpenSessions, run_turns
from langchain_core.messages import messages_to_dict

from sessiongraph import Sessions
from sessiongraph.settings import Settings


def comparable(values: dict) -> tuple:
    """State values without ids and timestamps, to compare two runs of the same turns."""
    messages = [
        (m["type"], m["data"]["content"], len(m["data"].get("tool_calls") or []))
        for m in messages_to_dict(values["messages"])
    ]
    return messages, values.get("summary"), values.get("summarized_messages")


async def assert_consistent_window(sessions: Sessions, thread_id: str, keep: int) -> None:
    """Exactly ``keep`` checkpoints; each one readable; parents inside the window or none."""
    history = await sessions.get_history(thread_id)
    assert len(history) == keep
    ids = {s.config["configurable"]["checkpoint_id"] for s in history}
    for snapshot in history:
        parent = snapshot.parent_config
        assert parent is None or parent["configurable"]["checkpoint_id"] in ids
        again = await sessions.get_state(thread_id, snapshot.config["configurable"]["checkpoint_id"])
        assert again.values == snapshot.values
    assert history[-1].parent_config is None  # the oldest kept checkpoint is the new root


async def test_automatic_pruning_keeps_state_summary_and_time_travel(open_sessions: OpenSessions) -> None:
    async with open_sessions() as plain:
        expected = await run_turns(plain, "unpruned", TURNS)
    async with open_sessions(checkpoint_keep_latest=4) as sessions:
        values = await run_turns(sessions, "t", TURNS)

        assert comparable(values) == comparable(expected)
        assert values["summary"]  # the turns did summarize, and the summary is intact
        await assert_consistent_window(sessions, "t", 4)
        # Time travel inside the window: fork from the oldest kept checkpoint and go on.
        oldest = (await sessions.get_history("t"))[-1]
        await sessions.fork("t", oldest.config["configurable"]["checkpoint_id"])
        after = await sessions.invoke("t", "What is my name?")
        assert after["messages"][-1].content == "Your name is Ada."
        assert len(await sessions.get_history("t")) == 4


async def test_prune_keep_latest_leaves_one_checkpoint_that_still_works(open_sessions: OpenSessions) -> None:
    async with open_sessions() as sessions:
        await run_turns(sessions, "t", TURNS[:3])
        before = await sessions.get_state("t")
        assert len(await sessions.get_history("t")) > 1

        assert await sessions.prune(["t", "unknown"], "keep_latest") == 1

        await assert_consistent_window(sessions, "t", 1)
        assert (await sessions.get_state("t")).values == before.values
        after = await sessions.invoke("t", "What is my name?")
        assert after["messages"][-1].content == "Your name is Ada."


async def test_prune_delete_removes_whole_threads(open_sessions: OpenSessions) -> None:
    async with open_sessions() as sessions:
        for thread_id in ("a", "b", "c"):
            await sessions.invoke(thread_id, "hello")

        assert await sessions.prune(["a", "b", "missing", "a"]) == 2

        assert [t.thread_id for t in await sessions.list_threads()] == ["c"]
        assert await sessions.get_history("a") == []
        assert len(await sessions.get_history("c")) > 0


async def test_a_pending_interrupt_survives_pruning(open_sessions: OpenSessions) -> None:
    async with open_sessions() as sessions:
        await sessions.invoke("t", "12*7", context={"require_plan_approval": True})
        assert (await sessions.get_thread("t")).status == "interrupted"

        await sessions.prune(["t"], "keep_latest")

        values = await sessions.resume("t", "approve", context={"require_plan_approval": True})
        assert "84" in values["messages"][-1].content


async def test_prune_rejects_bad_arguments(open_sessions: OpenSessions) -> None:
    async with open_sessions() as sessions:
        with pytest.raises(ValueError, match="strategy"):
            await sessions.prune(["t"], "everything")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="keep_latest"):
            await sessions.backend.prune_checkpoints(["t"], 0)


async def test_sqlite_gives_the_space_back(tmp_path: Path) -> None:
    path = tmp_path / "space.db"
    url = f"sqlite:///{path}"
    async with Sessions.open(url, settings=Settings(checkpoint_url=url, model="offline")) as sessions:
        await run_turns(sessions, "t", TURNS * 2)
        pages_before = _pragma(path, "page_count")
        await sessions.prune(["t"], "keep_latest", keep_latest=2)
        assert _pragma(path, "auto_vacuum") == 2  # incremental, set on the new file
        assert _pragma(path, "freelist_count") == 0
        assert _pragma(path, "page_count") < pages_before / 2


async def test_memory_pruning_frees_unreferenced_blobs() -> None:
    settings = Settings(checkpoint_url="memory://", model="offline")
    async with Sessions.open("memory://", settings=settings) as sessions:
        await run_turns(sessions, "t", TURNS)
        saver = sessions.graph.checkpointer
        before = (await sessions.get_state("t")).values
        blobs_before = sum(1 for key in saver.blobs if key[0] == "t")

        await sessions.prune(["t"], "keep_latest", keep_latest=1)

        (checkpoint,) = [c for ns in saver.storage["t"].values() for c in ns.values()]
        versions = saver.serde.loads_typed(checkpoint[0])["channel_versions"]
        left = {(key[2], key[3]) for key in saver.blobs if key[0] == "t"}
        assert left <= set(versions.items())  # only blobs the kept checkpoint references remain
        assert len(left) < blobs_before
        assert (await sessions.get_state("t")).values == before


def _pragma(path: Path, name: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"PRAGMA {name}").fetchone()[0])
