"""execute: work through the plan with tool calls; ``tools`` runs them and loops back here.

Tool calls go into ``messages`` (so the conversation keeps every call with its result); the step
results of the turn are recorded in ``step_results``. When the model makes no further call, or
the turn's tool-round budget is spent, control passes to ``reflect``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, ToolCall, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.prebuilt import ToolNode
from langgraph.runtime import Runtime

from sessiongraph.graphs.context import Context, context_from_runtime
from sessiongraph.graphs.state import AgentState, StepResult
from sessiongraph.nodes import prompts
from sessiongraph.nodes.deps import NodeDeps
from sessiongraph.nodes.messages import text_of, turn_tool_results
from sessiongraph.nodes.node_types import AgentNode, AgentNodeWithConfig
from sessiongraph.nodes.progress import progress_writer, report_tool_progress, tool_progress
from sessiongraph.nodes.prompting import conversation, format_plan, format_results, system_message
from sessiongraph.nodes.structured import tool_model
from sessiongraph.nodes.tool_limits import ToolLimits


def step_results_of(state: AgentState) -> list[StepResult]:
    """The results of every tool call made so far in this turn."""
    return [
        StepResult(
            tool=call["name"],
            args=call["args"],
            output=text_of(message)[:2000],
            ok=message.status != "error",
        )
        for call, message in turn_tool_results(conversation(state))
    ]


def tool_rounds(state: AgentState) -> int:
    """How many tool-calling model replies this turn has had."""
    messages = conversation(state)
    start = max((i for i, m in enumerate(messages) if m.type == "human"), default=-1) + 1
    return sum(1 for m in messages[start:] if isinstance(m, AIMessage) and m.tool_calls)


def make_execute(deps: NodeDeps) -> AgentNode:
    """Build the ``execute`` node."""

    async def execute(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
        context = context_from_runtime(runtime)
        results = step_results_of(state)
        tools = deps.enabled_tools(context)
        if not tools or tool_rounds(state) >= context.max_tool_rounds:
            return {"step_results": results}
        instructions = prompts.EXECUTE.format(
            plan=format_plan(state.get("plan", [])), results=format_results(results)
        )
        reply = await tool_model(deps.chat_model(context), tools).ainvoke(
            [system_message(state, instructions), *conversation(state)]
        )
        if isinstance(reply, AIMessage) and reply.tool_calls:
            return {"messages": [reply], "step_results": results}
        return {"step_results": results}

    return execute


def make_tools(tools: Sequence[BaseTool], limits: ToolLimits | None = None) -> AgentNodeWithConfig:
    """Build the ``tools`` node: runs the last AI message's tool calls, failures become error results.

    A call to a tool the context does not enable is answered with an error result instead of running.
    Each call is reported as custom stream events (:mod:`sessiongraph.nodes.progress`) and is held
    to ``limits`` (time and output size per call; :class:`ToolLimits` defaults when ``None``).
    """
    wrapper = (limits or ToolLimits()).wrap(report_tool_progress)
    tool_node = ToolNode(list(tools), handle_tool_errors=_tool_error, awrap_tool_call=wrapper)
    every_name = [t.name for t in tools]

    async def run_tools(
        state: AgentState, runtime: Runtime[Context], config: RunnableConfig
    ) -> dict[str, Any]:
        chosen = context_from_runtime(runtime).enabled_tools
        enabled = set(every_name if chosen is None else chosen)
        last = conversation(state)[-1]
        calls = list(last.tool_calls) if isinstance(last, AIMessage) else []
        allowed = [c for c in calls if c["name"] in enabled]
        write = progress_writer()
        refused: list[ToolMessage] = []
        for call in calls:
            if call["name"] not in enabled:
                write(tool_progress(call, "failed"))
                refused.append(_refusal(call, enabled))
        produced: list[ToolMessage] = []
        if allowed:
            output = await tool_node.ainvoke(
                {"messages": [last.model_copy(update={"tool_calls": allowed})]}, config
            )
            produced = list(output["messages"])
        by_id = {m.tool_call_id: m for m in [*produced, *refused]}
        return {"messages": [by_id[c["id"]] for c in calls if c["id"] in by_id]}

    return run_tools


def _refusal(call: ToolCall, enabled: set[str]) -> ToolMessage:
    """The error result of a call to a tool the context does not enable."""
    return ToolMessage(
        content=f"Error: tool {call['name']!r} is not enabled; enabled tools: {sorted(enabled)}",
        tool_call_id=call["id"] or "",
        name=call["name"],
        status="error",
    )


def _tool_error(error: Exception) -> str:
    """The result text of a tool that raised: the model sees what went wrong, not a traceback."""
    return f"Error: {type(error).__name__}: {error}"
