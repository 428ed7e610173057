"""Every node runs, the replan loop stays within its budget, and the answer streams token by token."""

from __future__ import annotations

import pytest
from graph_helpers import node_runs
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.constants import TAG_NOSTREAM
from langgraph.graph.state import CompiledStateGraph
from support.threads import new_thread

from sessiongraph.graphs.context import Context

TOOL_NODES = {"recall", "understand", "plan", "review_plan", "execute", "tools", "reflect", "answer"}


@pytest.mark.parametrize("budget", [0, 1, 2])
async def test_replans_stop_at_the_budget(agent: CompiledStateGraph, budget: int) -> None:
    runs, values = await node_runs(agent, "compute 1/0", Context(max_replans=budget))
    assert set(runs) == TOOL_NODES
    assert runs["plan"] == budget + 1
    assert runs["reflect"] == budget + 1
    assert runs["understand"] == runs["answer"] == runs["tools"] == 1
    assert values["iteration"] == budget
    assert values["reflection"]["verdict"] == "answer"
    final = values["messages"][-1]
    assert isinstance(final, AIMessage) and not final.tool_calls
    assert "calculator failed" in final.content and "division by zero" in final.content
    assert [r["ok"] for r in values["step_results"]] == [False]


async def test_double_check_requests_one_replan(agent: CompiledStateGraph) -> None:
    runs, values = await node_runs(agent, "compute 2+3 and double-check it", Context(max_replans=1))
    assert runs["plan"] == 2 and values["iteration"] == 1
    assert values["plan"][0].startswith("Re-check:")
    assert values["messages"][-1].content == "Here is what I found: 2+3 = 5."


async def test_parallel_tool_calls_in_one_round(agent: CompiledStateGraph) -> None:
    runs, values = await node_runs(agent, "what is 12*7 and 3+4?", Context())
    assert runs["tools"] == 1 and runs["plan"] == 1
    calls = [m for m in values["messages"] if isinstance(m, AIMessage) and m.tool_calls]
    assert len(calls) == 1 and len(calls[0].tool_calls) == 2
    assert [m.content for m in values["messages"] if isinstance(m, ToolMessage)] == ["84", "7"]
    assert values["messages"][-1].content == "Here is what I found: 12*7 = 84; 3+4 = 7."


async def test_a_chat_without_tools_skips_planning(agent: CompiledStateGraph) -> None:
    runs, values = await node_runs(agent, "hello there", Context())
    assert set(runs) == {"recall", "understand", "answer"}
    assert values["understanding"]["needs_tools"] is False


async def test_tool_rounds_are_bounded(agent: CompiledStateGraph) -> None:
    runs, values = await node_runs(agent, "compute 2+2", Context(max_tool_rounds=0))
    assert "tools" not in runs
    assert values["messages"][-1].content.startswith("You said")


async def test_summarize_runs_when_the_prompt_is_over_budget(agent: CompiledStateGraph) -> None:
    config = new_thread()
    tight = Context(summary_trigger_tokens=400, summary_keep_tokens=100, summary_max_tokens=200)
    runs_seen: set[str] = set()
    for turn in range(6):
        runs, values = await node_runs(agent, f"My name is Ada, turn {turn}. " + "blah " * 40, tight, config)
        runs_seen |= set(runs)
    assert "summarize" in runs_seen
    assert values.get("summary")
    runs, values = await node_runs(agent, "What is my name?", tight, config)
    assert values["messages"][-1].content == "Your name is Ada."


async def test_the_answer_streams_as_chat_model_events(agent: CompiledStateGraph) -> None:
    config = new_thread()
    answer_chunks, other_events = [], []
    async for event in agent.astream_events(
        {"messages": [("user", "what is 12*7 and 3+4?")]}, config, context=Context(), version="v2"
    ):
        if event["event"] != "on_chat_model_stream":
            continue
        if event["metadata"]["langgraph_node"] == "answer":
            answer_chunks.append(event["data"]["chunk"].content)
        else:
            other_events.append(event)
    final = (await agent.aget_state(config)).values["messages"][-1]
    assert len([c for c in answer_chunks if c]) > 3
    assert "".join(answer_chunks) == final.content == "Here is what I found: 12*7 = 84; 3+4 = 7."
    # The working calls (structured outputs, tool calls) stream too, but tagged so UIs can skip them.
    assert other_events
    assert all(TAG_NOSTREAM in e["tags"] for e in other_events)


async def test_messages_mode_streams_only_answer_tokens(agent: CompiledStateGraph) -> None:
    config = new_thread()
    streamed = []
    async for message, metadata in agent.astream(
        {"messages": [("user", "hello there")]}, config, context=Context(), stream_mode="messages"
    ):
        streamed.append((metadata["langgraph_node"], message.content))
    final = (await agent.aget_state(config)).values["messages"][-1]
    assert {node for node, _ in streamed} == {"answer"}
    assert "".join(text for _, text in streamed) == final.content
