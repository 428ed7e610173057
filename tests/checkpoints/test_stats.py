"""Per-thread stats on every backend, and the memory backend's cap on threads."""

from __future__ import annotations

import json

import pytest
from checkpoint_turns import SMALL_BUDGET, TURNS, OpenSessions, run_turns

from sessiongraph import Sessions
from sessiongraph.checkpoints.registry import ThreadNotFound
from sessiongraph.nodes.offline import OfflineChatModel
from sessiongraph.nodes.summarize import model_counter, prompt_tokens
from sessiongraph.settings import Settings


async def test_thread_stats_describe_conversation_and_storage(open_sessions: OpenSessions) -> None:
    async with open_sessions() as sessions:
        values = await run_turns(sessions, "t", TURNS)
        stats = await sessions.thread_stats("t", SMALL_BUDGET)
        history = await sessions.get_history("t")

        assert stats.messages == len(values["messages"])
        count = model_counter(OfflineChatModel())
        assert stats.prompt_tokens == prompt_tokens(values["messages"], values["summary"], count)
        assert stats.budget_tokens == SMALL_BUDGET["summary_trigger_tokens"]
        assert stats.budget_share == pytest.approx(stats.prompt_tokens / stats.budget_tokens, abs=1e-3)
        assert stats.summary_chars == len(values["summary"]) > 0
        assert 0 < stats.summary_tokens <= SMALL_BUDGET["summary_max_tokens"]
        assert stats.summarized_messages == values["summarized_messages"] > 0
        assert stats.checkpoints == len(history)
        assert stats.bytes_stored > 1000
        json.dumps(stats.to_dict())  # ready for GET /threads/{id}/stats

        await sessions.prune(["t"], "keep_latest")
        pruned = await sessions.thread_stats("t", SMALL_BUDGET)
        assert pruned.checkpoints == 1
        assert pruned.bytes_stored < stats.bytes_stored / 3
        assert pruned.prompt_tokens == stats.prompt_tokens


async def test_stats_of_a_new_and_of_an_unknown_thread(open_sessions: OpenSessions) -> None:
    async with open_sessions() as sessions:
        await sessions.create_thread("empty")
        stats = await sessions.thread_stats("empty")
        assert (stats.messages, stats.prompt_tokens, stats.checkpoints, stats.summary_chars) == (0, 0, 0, 0)
        with pytest.raises(ThreadNotFound):
            await sessions.thread_stats("missing")


async def test_memory_backend_evicts_least_recently_used_idle_threads() -> None:
    settings = Settings(checkpoint_url="memory://", model="offline", memory_max_threads=3)
    async with Sessions.open("memory://", settings=settings) as sessions:
        await sessions.invoke("waiting", "12*7", context={"require_plan_approval": True})
        await sessions.invoke("a", "hello")
        await sessions.invoke("b", "hello")
        await sessions.get_thread("a")  # a is now more recently used than b
        await sessions.invoke("c", "hello")  # over the cap: b goes, the interrupted thread stays

        ids = sorted(t.thread_id for t in await sessions.list_threads())
        assert ids == ["a", "c", "waiting"]
        assert await sessions.get_history("b") == []
        assert not sessions.graph.checkpointer.storage.get("b")
        assert (await sessions.get_thread("waiting")).status == "interrupted"
