"""Long-term memory on every backend: archive, recall (by meaning where the store indexes, else by
recency, as announced at startup), pins, cross-thread recall per owner (opt-in), and deletion."""

from __future__ import annotations

import pytest

from sessiongraph import Context, Sessions
from sessiongraph.memory import PinError
from sessiongraph.nodes.memory import ARCHIVE_ROOT, PINS_ROOT, MemoryScope, count_items
from sessiongraph.settings import Settings

SMALL = Context(summary_trigger_tokens=300, summary_keep_tokens=120, summary_max_tokens=120)
FILLER = "Tell me about rivers, mountains and old maps of the northern coast, number {}."


async def test_memory_on_each_backend(backend_url: str, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(checkpoint_url=backend_url, model="offline")
    with caplog.at_level("INFO", logger="sessiongraph.memory"):
        sessions_cm = Sessions.open(backend_url, settings=settings)
        sessions = await sessions_cm.__aenter__()
    try:
        semantic = sessions.memory.semantic
        assert any(
            ("semantic recall on" if semantic else "falls back to the newest") in r.message
            for r in caplog.records
        )
        ada = (await sessions.create_thread(owner="ada")).thread_id
        for text in ("My name is Ada.", "My daughter's name is Lina.", *(FILLER.format(n) for n in range(5))):
            await sessions.invoke(ada, text, context=SMALL)

        memory = await sessions.recall(ada, "What is my daughter's name?")
        assert [p["text"] for p in memory["pinned"]] == ["My name is Ada."]
        if semantic:
            assert memory["mode"] == "semantic"
            assert memory["recalled"][0]["text"] == "My daughter's name is Lina."
            answer = await sessions.invoke(ada, "What is my daughter's name?", context=SMALL)
            assert "Lina" in answer["messages"][-1].text
        else:
            assert memory["mode"] == "recency" and memory["recalled"]
            turns = [p["turn"] for p in memory["recalled"]]
            assert turns == sorted(turns, reverse=True)

        newest = (await sessions.get_state(ada)).values["messages"][-2]
        pinned = await sessions.pin(ada, message_id=newest.id)
        assert pinned["reason"] == "api" and pinned["text"] == newest.text
        with pytest.raises(PinError, match="no message 'nope'"):
            await sessions.pin(ada, message_id="nope")
        stats = await sessions.thread_stats(ada)
        assert stats.archived_items >= 6 and stats.pinned_items == 2

        # Cross-thread memory is per owner and opt-in.
        ada2 = (await sessions.create_thread(owner="ada")).thread_id
        bob = (await sessions.create_thread(owner="bob")).thread_id
        owner_scope = Context(recall_scope="owner")
        assert (await sessions.recall(ada2, "What is my name?"))["pinned"] == []
        shared = await sessions.recall(ada2, "What is my name?", owner_scope)
        assert "My name is Ada." in [p["text"] for p in shared["pinned"]]
        if semantic:
            found = await sessions.recall(ada2, "my daughter", owner_scope)
            assert found["recalled"][0]["text"] == "My daughter's name is Lina."
        other = await sessions.recall(bob, "What is my daughter's name?", owner_scope)
        assert other["pinned"] == [] and other["recalled"] == []

        await sessions.delete_thread(ada)
        assert await count_items(sessions.memory.store, MemoryScope(ada, "ada"), ARCHIVE_ROOT) == 0
    finally:
        await sessions_cm.__aexit__(None, None, None)


async def test_an_evicted_memory_thread_takes_its_memory_along() -> None:
    settings = Settings(checkpoint_url="memory://", model="offline", memory_max_threads=1)
    async with Sessions.open("memory://", settings=settings) as sessions:
        first = (await sessions.create_thread(owner="ada")).thread_id
        await sessions.pin(first, text="Ada is vegetarian.")
        assert (await sessions.thread_stats(first)).pinned_items == 1
        await sessions.create_thread(owner="ada")  # over the cap: the idle first thread is evicted
        assert await sessions.find_thread(first) is None
        assert await count_items(sessions.memory.store, MemoryScope(first, "ada"), PINS_ROOT) == 0
