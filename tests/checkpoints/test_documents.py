"""The backends' document tables (assistants, crons, claims) and the long-term store the graph
sees as ``runtime.store``, on memory, SQLite and Redis."""

from __future__ import annotations

from typing import Any

from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict

from sessiongraph.checkpoints import open_backend
from sessiongraph.checkpoints.assistants import AssistantQuery
from sessiongraph.checkpoints.crons import CronQuery
from sessiongraph.sessions import Sessions
from sessiongraph.settings import Settings


async def test_tables_claims_and_registries(backend_url: str) -> None:
    async with open_backend(backend_url) as backend:
        table = backend.documents("things")
        assert await table.insert_if_absent("a", {"n": 1})
        assert not await table.insert_if_absent("a", {"n": 2})
        await table.put("b", {"n": 3})
        assert sorted(d["n"] for d in await table.all()) == [1, 3]
        assert await table.delete("a") and not await table.delete("a")
        assert await backend.documents("other").all() == []

        await backend.assistants.create("a1", graph_id="agent", name="one")
        await backend.assistants.update("a1", name="two")
        assert [a["name"] for a in await backend.assistants.search(AssistantQuery(name="tw"))] == ["two"]

        cron = await backend.crons.create(
            "c1", assistant_id="a1", schedule="*/5 * * * *", payload={}, now=0.0
        )
        assert cron["next_run_date"] == 300.0
        assert await backend.crons.due(299.0) == []
        [due] = await backend.crons.due(300.0)
        assert await backend.crons.claim(due, 300.0)
        assert not await backend.crons.claim(due, 300.0)  # the tick is taken: another replica skips it
        assert (await backend.crons.require("c1"))["next_run_date"] == 600.0
        assert await backend.crons.count(CronQuery(assistant_id="a1")) == 1


class _State(TypedDict, total=False):
    seen: Any


async def _read_memory(state: _State, runtime: Runtime[None]) -> _State:
    assert runtime.store is not None
    item = await runtime.store.aget(("users", "ada"), "profile")
    return {"seen": item.value if item else None}


async def test_the_graph_reads_the_sessions_store(sqlite_url: str) -> None:
    async with Sessions.open(sqlite_url, settings=Settings(model="offline")) as sessions:
        await sessions.store.aput(("users", "ada"), "profile", {"likes": "tea"})
        builder = StateGraph(_State)
        builder.add_node("read", _read_memory)
        builder.add_edge(START, "read")
        assert sessions.graph.store is sessions.store  # the agent graph gets the same store
        graph = builder.compile(store=sessions.store)
        assert await graph.ainvoke({}) == {"seen": {"likes": "tea"}}
