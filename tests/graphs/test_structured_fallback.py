"""A model that keeps returning malformed structured output: the node retries once, then falls back."""

from __future__ import annotations

from typing import Any

from graph_helpers import node_runs
from langchain_core.messages import AIMessage, BaseMessage
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import Field

from sessiongraph.graphs.agent import build_graph
from sessiongraph.graphs.context import Context
from sessiongraph.nodes.offline.model import OfflineChatModel, _forced_tool


class MalformedModel(OfflineChatModel):
    """Answers forced structured-output calls for the ``broken`` schemas with invalid arguments."""

    broken: set[str] = Field(default_factory=set)
    forced: list[str] = Field(default_factory=list)

    def _reply(self, messages: list[BaseMessage], tools: Any, tool_choice: Any) -> AIMessage:
        forced = _forced_tool(tools or [], tool_choice)
        name = forced["function"]["name"] if forced else None
        if name:
            self.forced.append(name)
        if name in self.broken:
            call = {"name": name, "args": {"nonsense": 1}, "id": f"call_{name}", "type": "tool_call"}
            return AIMessage(content="", tool_calls=[call])
        return super()._reply(messages, tools, tool_choice)


async def test_understanding_falls_back_and_the_turn_still_answers() -> None:
    model = MalformedModel(broken={"UnderstandingOutput"})
    graph = build_graph(model=model, checkpointer=InMemorySaver())
    runs, values = await node_runs(graph, "compute 2+2", Context())
    assert model.forced.count("UnderstandingOutput") == 2  # one retry with the parse error, then fallback
    assert values["understanding"] == {"goal": "Respond to: compute 2+2", "needs_tools": False}
    assert set(runs) == {"recall", "understand", "answer"}
    assert values["messages"][-1].content.startswith("You said: “compute 2+2”")


async def test_plan_and_reflection_fall_back() -> None:
    model = MalformedModel(broken={"PlanOutput", "ReflectionOutput"})
    graph = build_graph(model=model, checkpointer=InMemorySaver())
    runs, values = await node_runs(graph, "compute 1/0", Context(max_replans=2))
    assert model.forced.count("PlanOutput") == 2 and model.forced.count("ReflectionOutput") == 2
    assert values["plan"] == ["Answer the request directly"]
    # The fallback verdict is "answer": no replan although the tool failed.
    assert runs["plan"] == 1 and values["iteration"] == 0
    assert values["reflection"] == {"verdict": "answer", "reason": "no usable verdict from the model"}
    assert "division by zero" in values["messages"][-1].content


async def test_one_malformed_reply_is_repaired_by_the_retry() -> None:
    class OnceBroken(MalformedModel):
        def _reply(self, messages: list[BaseMessage], tools: Any, tool_choice: Any) -> AIMessage:
            if "could not be parsed" in str(messages[-1].content):
                self.broken = set()
            return super()._reply(messages, tools, tool_choice)

    model = OnceBroken(broken={"UnderstandingOutput"})
    graph = build_graph(model=model, checkpointer=InMemorySaver())
    _, values = await node_runs(graph, "compute 2+2", Context())
    assert model.forced.count("UnderstandingOutput") == 2
    assert values["understanding"]["needs_tools"] is True
    assert values["messages"][-1].content == "Here is what I found: 2+2 = 4."
