"""reflect: judge the step results; answer now, or replan while the replan budget lasts."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sessiongraph.graphs.context import Context, context_from_runtime
from sessiongraph.graphs.state import AgentState
from sessiongraph.nodes import prompts
from sessiongraph.nodes.deps import NodeDeps
from sessiongraph.nodes.node_types import AgentNode
from sessiongraph.nodes.prompting import conversation, format_plan, format_results, system_message
from sessiongraph.nodes.schemas import ReflectionOutput
from sessiongraph.nodes.structured import structured_call


def make_reflect(deps: NodeDeps) -> AgentNode:
    """Build the ``reflect`` node."""

    async def reflect(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
        context = context_from_runtime(runtime)
        if state.get("iteration", 0) >= context.max_replans:
            # No budget left: do not even ask; answer with what we have.
            return {"reflection": {"verdict": "answer", "reason": "replan budget spent"}}
        understanding = state.get("understanding") or {"goal": ""}
        instructions = prompts.REFLECT.format(
            goal=understanding["goal"],
            plan=format_plan(state.get("plan", [])),
            results=format_results(state.get("step_results", [])),
        )
        result = await structured_call(
            deps.chat_model(context),
            ReflectionOutput,
            [system_message(state, instructions), *conversation(state)],
            ReflectionOutput(verdict="answer", reason="no usable verdict from the model"),
        )
        return {"reflection": {"verdict": result.verdict, "reason": result.reason}}

    return reflect
