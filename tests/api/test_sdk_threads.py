"""The threads client's copy and join_stream, search after copies, updates and deletes, the stream
shapes Studio reads (``debug`` checkpoint events), unknown context keys, and ``GET /``, on SQLite,
Redis and PostgreSQL."""

from __future__ import annotations

import httpx
from apiharness import AGENT, LiveServer, block_run
from langgraph_sdk.client import LangGraphClient
from support.messages import contents, say


async def test_copy_keeps_values_history_and_metadata(client: LangGraphClient) -> None:
    tid = (await client.threads.create(metadata={"user": "ada"}))["thread_id"]
    await client.runs.wait(tid, AGENT, input=say("My name is Ada"))
    copied = await client.threads.copy(tid)
    assert copied["thread_id"] != tid and copied["metadata"]["user"] == "ada" and copied["status"] == "idle"
    original = await client.threads.get_history(tid, limit=100)
    history = await client.threads.get_history(copied["thread_id"], limit=100)
    assert [h["values"] for h in history] == [h["values"] for h in original]
    answer = await client.runs.wait(copied["thread_id"], AGENT, input=say("What is my name?"))
    assert answer["messages"][-1]["content"] == "Your name is Ada."
    assert len(contents((await client.threads.get_state(tid))["values"])) == 2


async def test_search_follows_copies_updates_and_deletes(client: LangGraphClient) -> None:
    config = {"model": "x", "stop": [True, None]}
    tid = (await client.threads.create(metadata={"user": "ada", "config": config}))["thread_id"]
    copied = (await client.threads.copy(tid))["thread_id"]
    same_config = {"stop": [True, None], "model": "x"}
    found = await client.threads.search(metadata={"config": same_config})
    assert sorted(t["thread_id"] for t in found) == sorted([tid, copied])

    await client.threads.update(copied, metadata={"user": "bob"})
    assert [t["thread_id"] for t in await client.threads.search(metadata={"user": "ada"})] == [tid]
    assert await client.threads.count(metadata={"user": "bob", "config": same_config}) == 1

    await client.threads.delete(tid)
    assert await client.threads.search(metadata={"user": "ada"}) == []
    assert await client.threads.count(metadata={"config": config}) == 1


async def test_join_stream_follows_the_threads_run(client: LangGraphClient, server: LiveServer) -> None:
    tid = (await client.threads.create())["thread_id"]
    await block_run(client, server, tid, stream_mode=["values"])

    stream = await client.threads.join_stream(tid, stream_mode="values", last_event_id="-1")
    parts = aiter(stream)
    assert (await anext(parts)).event == "metadata"  # replayed from the start: "-1"
    server.model.release()
    events = [p.event async for p in parts]
    assert "values" in events and events[-1] == "end"


async def test_debug_checkpoints_carry_checkpoint_refs(client: LangGraphClient) -> None:
    tid = (await client.threads.create())["thread_id"]
    parts = [p async for p in client.runs.stream(tid, AGENT, input=say("hi"), stream_mode="debug")]
    checkpoints = [p.data["payload"] for p in parts if p.event == "debug" and p.data["type"] == "checkpoint"]
    assert checkpoints and all(c["checkpoint"]["thread_id"] == tid for c in checkpoints)
    assert checkpoints[0]["parent_checkpoint"] is None
    assert checkpoints[1]["parent_checkpoint"] == checkpoints[0]["checkpoint"]


async def test_unknown_context_keys_are_accepted(client: LangGraphClient, server: LiveServer) -> None:
    tid = (await client.threads.create())["thread_id"]
    result = await client.runs.wait(tid, AGENT, input=say("hi"), context={"colour": "blue", "max_replans": 1})
    assert result["messages"][-1]["content"].startswith("You said")
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/")).json() == {"ok": True}
        assert (await http.get("/info")).json()["flags"]["crons"] is True


async def test_v2_thread_stream_values_interrupt_and_respond(client: LangGraphClient) -> None:
    async with client.threads.stream(assistant_id=AGENT) as thread:
        await thread.run.start(input=say("what is 12*7?"))
        snapshots = [v async for v in thread.values]
        output = await thread.output
    assert "84" in output["messages"][-1]["content"]
    assert snapshots[-1]["messages"][-1]["content"] == output["messages"][-1]["content"]

    tid = (await client.threads.create())["thread_id"]
    async with client.threads.stream(tid, assistant_id=AGENT) as thread:
        approval = {"configurable": {"require_plan_approval": True}}
        await thread.run.start(input=say("what is 2+2?"), config=approval)
        async for _ in thread.values:
            pass
        assert thread.interrupted and thread.interrupts[0]["value"]["plan"]
        await thread.run.respond("approve")
        output = await thread.output
    assert output["messages"][-1]["content"].endswith("2+2 = 4.")


async def test_v2_thread_stream_over_websocket(client: LangGraphClient) -> None:
    async with client.threads.stream(assistant_id=AGENT, transport="websocket") as thread:
        await thread.run.start(input=say("hi there"))
        output = await thread.output
    assert output["messages"][-1]["content"].startswith("You said")
