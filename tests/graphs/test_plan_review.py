"""Plan approval: the graph pauses at review_plan and resumes with approve, edit or reject."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command
from support.threads import new_thread

from sessiongraph.graphs.context import Context

APPROVAL = Context(require_plan_approval=True)
PLAN = ["Compute 12*7 with the calculator", "Compose the answer from the results"]


async def pause(agent: CompiledStateGraph, text: str = "compute 12*7") -> dict[str, Any]:
    """Start a turn that needs tools with plan approval on; returns the thread config (paused)."""
    config = new_thread()
    await agent.ainvoke({"messages": [("user", text)]}, config, context=APPROVAL)
    state = await agent.aget_state(config)
    assert state.next == ("review_plan",)
    (pending,) = state.interrupts
    assert pending.value["plan"] == [
        "Compute 12*7 with the calculator",
        "Compose the answer from the results",
    ]
    assert pending.value["goal"] == "Respond to: compute 12*7"
    return config


async def resume(agent: CompiledStateGraph, config: dict[str, Any], value: Any, context: Context) -> Any:
    """Resume the paused turn; returns the state snapshot after it."""
    await agent.ainvoke(Command(resume=value), config, context=context)
    return await agent.aget_state(config)


def tool_results(values: dict[str, Any]) -> list[str]:
    """Contents of the tool messages of a state."""
    return [m.content for m in values["messages"] if isinstance(m, ToolMessage)]


@pytest.mark.parametrize("value", ["approve", True, {"action": "approve"}])
async def test_approve_executes_the_plan(agent: CompiledStateGraph, value: Any) -> None:
    config = await pause(agent)
    state = await resume(agent, config, value, APPROVAL)
    assert state.next == () and not state.interrupts
    assert state.values["plan_review"] == "approved"
    assert tool_results(state.values) == ["84"]
    assert state.values["messages"][-1].content == "Here is what I found: 12*7 = 84."


async def test_edit_replaces_the_plan(agent: CompiledStateGraph) -> None:
    config = await pause(agent)
    state = await resume(agent, config, {"action": "edit", "plan": [" Multiply ", "Report"]}, APPROVAL)
    assert state.values["plan_review"] == "edited"
    assert state.values["plan"] == ["Multiply", "Report"]
    assert state.values["messages"][-1].content == "Here is what I found: 12*7 = 84."


@pytest.mark.parametrize("value", ["reject", False, {"action": "reject", "reason": "too risky"}])
async def test_reject_answers_without_executing(agent: CompiledStateGraph, value: Any) -> None:
    config = await pause(agent)
    state = await resume(agent, config, value, APPROVAL)
    assert state.values["plan_review"] == "rejected"
    assert tool_results(state.values) == []
    answer = state.values["messages"][-1].content
    assert answer.startswith("Understood: the plan was rejected")
    if isinstance(value, dict):
        assert "(too risky)" in answer


async def test_an_unrecognised_review_asks_again(agent: CompiledStateGraph) -> None:
    config = await pause(agent)
    state = await resume(agent, config, {"action": "edit", "plan": []}, APPROVAL)
    (pending,) = state.interrupts
    assert "non-empty list" in pending.value["error"]
    state = await resume(agent, config, "maybe", APPROVAL)
    assert "unrecognised review" in state.interrupts[0].value["error"]
    state = await resume(agent, config, "approve", APPROVAL)
    assert state.values["messages"][-1].content == "Here is what I found: 12*7 = 84."


async def test_a_rejection_holds_when_the_resume_has_no_context(agent: CompiledStateGraph) -> None:
    config = await pause(agent)
    state = await resume(agent, config, {"action": "reject", "reason": "no"}, Context())
    assert state.values["plan_review"] == "rejected"
    assert tool_results(state.values) == []
