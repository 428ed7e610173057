"""understand: restate the goal of the newest request and decide whether tools are needed.

It is the first node of every turn that talks to the model, so it also resets the per-turn working
fields and repairs a conversation left with unanswered tool calls by a stopped run.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sessiongraph.graphs.context import Context, context_from_runtime
from sessiongraph.graphs.state import AgentState, turn_reset
from sessiongraph.nodes import prompts
from sessiongraph.nodes.deps import NodeDeps
from sessiongraph.nodes.messages import latest_request
from sessiongraph.nodes.node_types import AgentNode
from sessiongraph.nodes.prompting import conversation, system_message
from sessiongraph.nodes.repair import repair_tool_pairs, replace_all
from sessiongraph.nodes.schemas import UnderstandingOutput
from sessiongraph.nodes.structured import structured_call


def make_understand(deps: NodeDeps) -> AgentNode:
    """Build the ``understand`` node."""

    async def understand(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
        context = context_from_runtime(runtime)
        tools = deps.enabled_tools(context)
        messages = conversation(state)
        repaired = repair_tool_pairs(messages)
        if repaired is not None:
            messages = repaired
        names = ", ".join(t.name for t in tools) or "(none)"
        request = latest_request(messages)
        fallback = UnderstandingOutput(goal=f"Respond to: {request[:200]}", needs_tools=False)
        result = await structured_call(
            deps.chat_model(context),
            UnderstandingOutput,
            [system_message(state, prompts.UNDERSTAND.format(tools=names)), *messages],
            fallback,
        )
        return {
            **({"messages": replace_all(messages)} if repaired is not None else {}),
            **turn_reset(),
            "understanding": {"goal": result.goal, "needs_tools": bool(result.needs_tools and tools)},
        }

    return understand
