"""Tool calls are reported as custom stream events, and writing them is harmless when nobody listens."""

from __future__ import annotations

from typing import Any

from graph_helpers import new_thread
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from sessiongraph.graphs.context import Context
from sessiongraph.graphs.state import AgentState
from sessiongraph.nodes.execute import make_tools
from sessiongraph.nodes.progress import progress_writer
from sessiongraph.nodes.tools import BUILTIN_TOOLS


async def custom_events(
    graph: CompiledStateGraph, graph_input: Any, context: Context, config: dict[str, Any] | None = None
) -> list[Any]:
    """Everything a run streams in the ``custom`` mode."""
    config = config or new_thread()
    return [e async for e in graph.astream(graph_input, config, context=context, stream_mode="custom")]


def statuses(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(tool, status) of each progress event, in order."""
    return [(e["tool"], e["status"]) for e in events if e["type"] == "tool_progress"]


async def test_a_tool_call_streams_started_then_finished(agent: CompiledStateGraph) -> None:
    config = new_thread()
    events = await custom_events(agent, {"messages": [("user", "what is 6*7?")]}, Context(), config)
    assert statuses(events) == [("calculator", "started"), ("calculator", "finished")]
    messages = (await agent.aget_state(config)).values["messages"]
    (call,) = next(m for m in messages if isinstance(m, AIMessage) and m.tool_calls).tool_calls
    assert {e["call_id"] for e in events} == {call["id"]}


async def test_a_failing_tool_streams_failed(agent: CompiledStateGraph) -> None:
    events = await custom_events(agent, {"messages": [("user", "what is 1/0?")]}, Context(max_replans=0))
    assert statuses(events) == [("calculator", "started"), ("calculator", "failed")]


def tools_only_graph() -> CompiledStateGraph:
    """Just the ``tools`` node, to hand it any tool calls."""
    builder = StateGraph(AgentState, context_schema=Context)
    builder.add_node("tools", make_tools(list(BUILTIN_TOOLS)))
    builder.add_edge(START, "tools")
    builder.add_edge("tools", END)
    return builder.compile()


def calls(*names: str) -> dict[str, Any]:
    """A turn whose last message calls ``names`` (ids: call_0, call_1, ...)."""
    args = {"calculator": {"expression": "1+1"}, "text_stats": {"text": "a b"}}
    tool_calls = [{"name": n, "args": args[n], "id": f"call_{i}"} for i, n in enumerate(names)]
    return {"messages": [HumanMessage("go"), AIMessage("", tool_calls=tool_calls)]}


async def test_a_call_the_context_does_not_enable_only_fails() -> None:
    events = await custom_events(
        tools_only_graph(), calls("text_stats", "calculator"), Context(enabled_tools=["calculator"])
    )
    assert sorted((e["call_id"], e["status"]) for e in events) == [
        ("call_0", "failed"),
        ("call_1", "finished"),
        ("call_1", "started"),
    ]


async def test_without_a_custom_stream_nothing_breaks() -> None:
    assert progress_writer()({"type": "tool_progress"}) is None  # outside any run
    values = await tools_only_graph().ainvoke(calls("calculator"), context=Context())
    assert [m.content for m in values["messages"] if isinstance(m, ToolMessage)] == ["2"]
    node = make_tools(list(BUILTIN_TOOLS))
    runtime = Runtime(context=Context(enabled_tools=[]))
    update = await node(calls("calculator"), runtime, {})  # called directly: no graph, no writer
    assert update["messages"][0].status == "error"
