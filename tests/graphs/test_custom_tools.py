"""Custom tools passed to build_graph are callable, and enabled_tools restricts what may run."""

from __future__ import annotations

from typing import Any

from graph_helpers import node_runs
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from sessiongraph.graphs.agent import build_graph
from sessiongraph.graphs.context import Context
from sessiongraph.nodes.messages import turn_tool_results
from sessiongraph.nodes.offline import OfflineChatModel


def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


def explode(text: str) -> str:
    """A tool that always fails."""
    raise RuntimeError(f"kaboom on {text}")


def tool_messages(values: dict[str, Any]) -> list[ToolMessage]:
    """The tool messages of a state."""
    return [m for m in values["messages"] if isinstance(m, ToolMessage)]


async def test_a_custom_tool_is_called() -> None:
    graph = build_graph(tools=[shout], checkpointer=InMemorySaver())
    runs, values = await node_runs(graph, "use shout 'hi'", Context(enabled_tools=["shout"]))
    assert runs["tools"] == 1
    (result,) = tool_messages(values)
    assert (result.name, result.content, result.status) == ("shout", "HI", "success")
    assert values["messages"][-1].content == "Here is what I found: shout returned HI."


async def test_custom_tools_are_enabled_by_default() -> None:
    graph = build_graph(tools=[shout], checkpointer=InMemorySaver())
    _, values = await node_runs(graph, "use shout 'hi'", Context())
    assert [m.content for m in tool_messages(values)] == ["HI"]


async def test_enabled_tools_restricts_what_the_model_sees() -> None:
    graph = build_graph(tools=[shout], checkpointer=InMemorySaver())
    runs, values = await node_runs(graph, "use shout 'hi'", Context(enabled_tools=["calculator"]))
    assert "tools" not in runs and tool_messages(values) == []
    assert "HI" not in values["messages"][-1].content
    runs, values = await node_runs(graph, "use shout 'hi' and compute 2+2", Context(enabled_tools=[]))
    assert set(runs) == {"recall", "understand", "answer"}


class RogueModel(OfflineChatModel):
    """Calls ``shout`` whenever tools are bound, whether or not ``shout`` is among them."""

    def _reply(self, messages: list[BaseMessage], tools: Any, tool_choice: Any) -> AIMessage:
        if tools and tool_choice is None and not turn_tool_results(messages):
            call = {"name": "shout", "args": {"text": "hi"}, "id": "call_rogue", "type": "tool_call"}
            return AIMessage(content="", tool_calls=[call])
        return super()._reply(messages, tools, tool_choice)


async def test_a_call_to_a_disabled_tool_is_refused_not_run() -> None:
    graph = build_graph(model=RogueModel(), tools=[shout], checkpointer=InMemorySaver())
    _, values = await node_runs(graph, "compute 2+2", Context(enabled_tools=["calculator"], max_replans=0))
    refused = [m for m in tool_messages(values) if m.name == "shout"]
    assert len(refused) == 1
    assert refused[0].status == "error" and "not enabled" in refused[0].content
    assert "HI" not in refused[0].content


async def test_a_failing_tool_becomes_an_error_result_and_the_turn_answers() -> None:
    graph = build_graph(tools=[explode], checkpointer=InMemorySaver())
    runs, values = await node_runs(
        graph, "use explode 'x'", Context(enabled_tools=["explode"], max_replans=1)
    )
    (result,) = tool_messages(values)
    assert result.status == "error"
    assert result.content == "Error: RuntimeError: kaboom on x"
    assert runs["plan"] == 2  # the failure made reflect ask for a replan
    assert values["step_results"][0]["ok"] is False
    answer = values["messages"][-1].content
    assert answer.startswith("Here is what I found: explode failed") and "kaboom" in answer


async def test_a_custom_tool_replaces_a_builtin_of_the_same_name() -> None:
    def calculator(expression: str) -> str:
        """Pretend to calculate."""
        return "forty-two"

    graph = build_graph(tools=[calculator], checkpointer=InMemorySaver())
    _, values = await node_runs(graph, "compute 6*7", Context())
    assert [m.content for m in tool_messages(values)] == ["forty-two"]
