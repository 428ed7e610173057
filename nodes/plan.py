"""plan: an ordered list of steps toward the goal (again after a replan, with the reason)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sessiongraph.graphs.context import Context, context_from_runtime
from sessiongraph.graphs.state import AgentState
from sessiongraph.nodes import prompts
from sessiongraph.nodes.deps import NodeDeps
from sessiongraph.nodes.node_types import AgentNode
from sessiongraph.nodes.prompting import conversation, format_results, system_message
from sessiongraph.nodes.schemas import PlanOutput
from sessiongraph.nodes.structured import structured_call


def make_plan(deps: NodeDeps) -> AgentNode:
    """Build the ``plan`` node."""

    async def plan(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
        context = context_from_runtime(runtime)
        understanding = state.get("understanding") or {"goal": "answer the user"}
        reflection = state.get("reflection")
        previous = ""
        if reflection and reflection["verdict"] == "replan":
            previous = prompts.PLAN_PREVIOUS.format(
                reason=reflection["reason"], results=format_results(state.get("step_results", []))
            )
        names = ", ".join(t.name for t in deps.enabled_tools(context)) or "(none)"
        instructions = prompts.PLAN.format(tools=names, goal=understanding["goal"], previous=previous)
        result = await structured_call(
            deps.chat_model(context),
            PlanOutput,
            [system_message(state, instructions), *conversation(state)],
            PlanOutput(steps=["Answer the request directly"]),
        )
        steps = [s.strip() for s in result.steps if s and s.strip()][:12] or ["Answer the request directly"]
        replanned = bool(previous)
        return {
            "plan": steps,
            "reflection": None,
            "iteration": state.get("iteration", 0) + int(replanned),
            # Recorded in state: the resume may come with another context (an SDK's Command(resume=)).
            "plan_review": "pending" if context.require_plan_approval else None,
        }

    return plan
