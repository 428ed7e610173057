"""answer: the final reply of the turn, streamed token by token (``on_chat_model_stream``)."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from sessiongraph.graphs.context import Context, context_from_runtime
from sessiongraph.graphs.state import AgentState
from sessiongraph.nodes import prompts
from sessiongraph.nodes.deps import NodeDeps
from sessiongraph.nodes.node_types import AgentNode
from sessiongraph.nodes.prompting import conversation, format_results, system_message


def make_answer(deps: NodeDeps) -> AgentNode:
    """Build the ``answer`` node."""

    async def answer(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
        context = context_from_runtime(runtime)
        results = state.get("step_results", [])
        plan_note = ""
        if state.get("plan_review") == "rejected":
            reflection = state.get("reflection")
            reason = reflection["reason"] if reflection else ""
            plan_note = prompts.PLAN_REJECTED_NOTE.format(reason=reason)
        instructions = prompts.ANSWER.format(
            results=f"Tool results:\n{format_results(results)}" if results else "", plan_note=plan_note
        )
        reply = await deps.chat_model(context).ainvoke(
            [system_message(state, instructions), *conversation(state)]
        )
        if not isinstance(reply, AIMessage):
            reply = AIMessage(content=str(reply))
        # A tool-less reply: drop any stray tool calls so the stored conversation stays valid.
        if reply.tool_calls:
            reply = AIMessage(
                content=reply.content or "", id=reply.id, response_metadata=reply.response_metadata
            )
        return {"messages": [reply]}

    return answer
