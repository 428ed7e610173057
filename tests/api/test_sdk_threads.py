"""The threads client's copy and join_stream, the stream shapes Studio reads (``debug`` checkpoint
events), unknown context keys, and ``GET /``, on SQLite and Redis."""

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
