"""The langgraph-sdk client against a live server, on SQLite and on Redis."""

from __future__ import annotations

import httpx
import pytest
from apiharness import AGENT, LiveServer
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError
from support.messages import say


def last_text(values: dict) -> str:
    """The last message's content."""
    return values["messages"][-1]["content"]


async def test_threads_create_get_update_search_count_delete(client: LangGraphClient) -> None:
    thread = await client.threads.create(metadata={"user": "ada", "topic": "x"})
    tid = thread["thread_id"]
    assert thread["status"] == "idle" and thread["metadata"]["user"] == "ada"
    assert (await client.threads.get(tid))["thread_id"] == tid
    updated = await client.threads.update(tid, metadata={"topic": "y"})
    assert updated["metadata"] == {"user": "ada", "topic": "y"}
    other = await client.threads.create(metadata={"user": "bob"})
    found = await client.threads.search(metadata={"user": "ada"})
    assert [t["thread_id"] for t in found] == [tid]
    assert await client.threads.count(metadata={"user": "bob"}) == 1
    assert len(await client.threads.search(limit=1)) == 1
    await client.threads.delete(tid)
    with pytest.raises(NotFoundError):
        await client.threads.get(tid)
    assert [t["thread_id"] for t in await client.threads.search()] == [other["thread_id"]]


async def test_wait_remembers_the_conversation_and_state_follows(client: LangGraphClient) -> None:
    tid = (await client.threads.create())["thread_id"]
    first = await client.runs.wait(tid, AGENT, input=say("My name is Ada"))
    assert "My name is Ada" in last_text(first)
    second = await client.runs.wait(tid, AGENT, input=say("What is my name?"))
    assert last_text(second) == "Your name is Ada."
    state = await client.threads.get_state(tid)
    assert last_text(state["values"]) == "Your name is Ada."
    assert state["next"] == [] and state["checkpoint"]["thread_id"] == tid
    history = await client.threads.get_history(tid, limit=100)
    assert history[0]["checkpoint"]["checkpoint_id"] == state["checkpoint"]["checkpoint_id"]
    assert len(history) > 4
    older = await client.threads.get_history(tid, limit=2, before=history[1]["checkpoint"]["checkpoint_id"])
    assert [h["checkpoint_id"] for h in older] == [h["checkpoint_id"] for h in history[2:4]]
    thread = await client.threads.get(tid)
    assert thread["status"] == "idle" and thread["metadata"]["graph_id"] == AGENT
    assert len(thread["values"]["messages"]) == 4


async def test_stream_modes(client: LangGraphClient) -> None:
    tid = (await client.threads.create())["thread_id"]
    seen: dict[str, list] = {}
    modes = ["values", "updates", "messages-tuple", "custom", "debug", "events"]
    async for part in client.runs.stream(tid, AGENT, input=say("hello there"), stream_mode=modes):
        seen.setdefault(part.event, []).append(part.data)
    assert next(iter(seen)) == "metadata" and "end" in seen
    assert last_text(seen["values"][-1]).startswith("You said")
    assert {node for update in seen["updates"] for node in update} >= {"understand", "answer"}
    answer_tokens = [msg["content"] for msg, meta in seen["messages"] if meta["langgraph_node"] == "answer"]
    assert "".join(answer_tokens) == last_text(seen["values"][-1])
    assert len([t for t in answer_tokens if t]) > 1
    assert {d["type"] for d in seen["debug"]} >= {"checkpoint", "task", "task_result"}
    streamed = [e for e in seen["events"] if e["event"] == "on_chat_model_stream"]
    assert "".join(
        e["data"]["chunk"]["content"] for e in streamed if e["metadata"]["langgraph_node"] == "answer"
    ) == last_text(seen["values"][-1])


@pytest.mark.parametrize("mode", ["values", "updates", "messages-tuple", "events", "debug", "custom"])
async def test_each_stream_mode_alone(sqlite_client: LangGraphClient, mode: str) -> None:
    tid = (await sqlite_client.threads.create())["thread_id"]
    text = "what is 6*7?" if mode == "custom" else "hi"  # only tool calls emit custom events
    parts = [p async for p in sqlite_client.runs.stream(tid, AGENT, input=say(text), stream_mode=mode)]
    events = [p.event for p in parts]
    expected = {"messages-tuple": "messages"}.get(mode, mode)
    assert events[0] == "metadata" and events[-1] == "end"
    assert set(events[1:-1]) <= {expected}
    assert expected in events
    if mode == "custom":
        progress = [(p.data["tool"], p.data["status"]) for p in parts if p.event == "custom"]
        assert progress == [("calculator", "started"), ("calculator", "finished")]


async def test_update_state_as_node_and_values(client: LangGraphClient) -> None:
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, AGENT, input=say("hello"))
    response = await client.threads.update_state(
        tid, {"messages": [{"role": "ai", "content": "edited reply"}]}, as_node="answer"
    )
    assert response["checkpoint"]["thread_id"] == tid
    state = await client.threads.get_state(tid)
    assert state["checkpoint"]["checkpoint_id"] == response["checkpoint"]["checkpoint_id"]
    assert last_text(state["values"]) == "edited reply"
    assert state["metadata"]["source"] == "update"


async def test_background_run_join_and_list(client: LangGraphClient) -> None:
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, AGENT, input=say("My name is Grace"))
    assert run["status"] in ("pending", "running", "success")
    result = await client.runs.join(tid, run["run_id"])
    assert "Grace" in last_text(result)
    fetched = await client.runs.get(tid, run["run_id"])
    assert fetched["status"] == "success"
    assert [r["run_id"] for r in await client.runs.list(tid)] == [run["run_id"]]


async def test_interrupt_and_resume_over_http(client: LangGraphClient) -> None:
    tid = (await client.threads.create())["thread_id"]
    with pytest.raises(httpx.HTTPStatusError, match="no pending interrupt") as refused:
        await client.runs.wait(tid, AGENT, command={"resume": "approve"})
    assert refused.value.response.status_code == 400
    paused = await client.runs.wait(
        tid, AGENT, input=say("what is 12*7 and 3+4?"), context={"require_plan_approval": True}
    )
    assert paused["__interrupt__"][0]["value"]["plan"]
    thread = await client.threads.get(tid)
    assert thread["status"] == "interrupted" and thread["interrupts"]
    state = await client.threads.get_state(tid)
    assert state["next"] == ["review_plan"] and state["interrupts"]
    done = await client.runs.wait(
        tid, AGENT, command={"resume": "approve"}, context={"require_plan_approval": True}
    )
    assert "84" in last_text(done) and "7" in last_text(done)
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_fork_from_an_earlier_checkpoint(client: LangGraphClient) -> None:
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, AGENT, input=say("My name is Ada"))
    after_first = (await client.threads.get_state(tid))["checkpoint"]["checkpoint_id"]
    await client.runs.wait(tid, AGENT, input=say("My name is Bob"))
    assert last_text(await client.runs.wait(tid, AGENT, input=say("What is my name?"))) == "Your name is Bob."
    forked = await client.runs.wait(tid, AGENT, input=say("What is my name?"), checkpoint_id=after_first)
    assert last_text(forked) == "Your name is Ada."
    state = await client.threads.get_state(tid)
    assert len(state["values"]["messages"]) == 4
    assert state["parent_checkpoint"] is not None


async def test_failed_run_reports_rolls_back_and_the_thread_stays_usable(client: LangGraphClient) -> None:
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, AGENT, input=say("My name is Ada"))
    before = await client.threads.get_state(tid)
    result = await client.runs.wait(tid, AGENT, input=say("FAIL please"), raise_error=False)
    assert result["__error__"] == {"error": "ValueError", "message": "scripted model failure"}
    thread = await client.threads.get(tid)
    assert thread["status"] == "error" and thread["error"]["error"] == "ValueError"
    assert (await client.threads.get_state(tid))["values"] == before["values"]
    parts = [p async for p in client.runs.stream(tid, AGENT, input=say("FAIL again"))]
    assert parts[-1].event == "error" and parts[-1].data["message"] == "scripted model failure"
    assert last_text(await client.runs.wait(tid, AGENT, input=say("What is my name?"))) == "Your name is Ada."
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_stateless_runs(client: LangGraphClient) -> None:
    result = await client.runs.wait(None, AGENT, input=say("hi"))
    assert last_text(result).startswith("You said")
    events = [p.event async for p in client.runs.stream(None, AGENT, input=say("hi"), stream_mode="updates")]
    assert events[0] == "metadata" and "updates" in events and events[-1] == "end"
    assert await client.threads.search() == []


async def test_assistant_endpoints(client: LangGraphClient, server: LiveServer) -> None:
    assistants = await client.assistants.search(metadata={"created_by": "system"})
    assert [a["graph_id"] for a in assistants] == [AGENT]
    aid = assistants[0]["assistant_id"]
    assert aid == "fe096781-5601-53d2-b2f6-0d3403f7e9ca"
    assert (await client.assistants.get(AGENT))["assistant_id"] == aid
    drawing = await client.assistants.get_graph(aid)
    assert {"understand", "answer", "__start__"} <= {n["id"] for n in drawing["nodes"]}
    schemas = await client.assistants.get_schemas(aid)
    assert "require_plan_approval" in schemas["context_schema"]["properties"]
    assert "messages" in schemas["input_schema"]["properties"]
    assert "messages" in schemas["state_schema"]["properties"]


async def test_legacy_messages_mode_accumulates(sqlite_client: LangGraphClient) -> None:
    tid = (await sqlite_client.threads.create())["thread_id"]
    parts = [p async for p in sqlite_client.runs.stream(tid, AGENT, input=say("hi"), stream_mode="messages")]
    names = {p.event for p in parts}
    assert {"messages/metadata", "messages/partial"} <= names
    partials = [p.data[0]["content"] for p in parts if p.event == "messages/partial"]
    final = (await sqlite_client.threads.get_state(tid))["values"]["messages"][-1]["content"]
    assert final in partials
