"""Per-call limits of tool calls: a time limit and an output-size limit.

Built-in tools bound their own work before doing it (the calculator refuses huge powers and
roundings); these limits are the backstop for every tool, custom ones included. Synchronous tools
already run in a worker thread (LangChain's ``run_in_executor``), so the event loop keeps serving
other requests while they work; a call over its time limit is answered with an error result and
the run moves on. Python cannot stop the worker thread itself, so a tool that may run away should
also bound its own work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from langchain_core.messages import ToolMessage
from langgraph.prebuilt.tool_node import ToolCallRequest

from sessiongraph.nodes.progress import ToolResult

ToolCallWrapper = Callable[
    [ToolCallRequest, Callable[[ToolCallRequest], Awaitable[ToolResult]]], Awaitable[ToolResult]
]


@dataclass(frozen=True)
class ToolLimits:
    """How long one tool call may take and how much text its result may hold."""

    timeout_s: float = 30.0
    max_output_chars: int = 20_000

    def wrap(self, inner: ToolCallWrapper) -> ToolCallWrapper:
        """``inner`` (a ``ToolNode(awrap_tool_call=...)`` wrapper) with these limits applied."""

        async def limited(
            request: ToolCallRequest, execute: Callable[[ToolCallRequest], Awaitable[ToolResult]]
        ) -> ToolResult:
            async def bounded(req: ToolCallRequest) -> ToolResult:
                try:
                    result = await asyncio.wait_for(execute(req), self.timeout_s)
                except TimeoutError:
                    return _error(
                        req, f"Error: the tool took longer than {self.timeout_s:g} s and was stopped"
                    )
                return self._clip(result)

            return await inner(request, bounded)

        return limited

    def _clip(self, result: ToolResult) -> ToolResult:
        if not isinstance(result, ToolMessage) or not isinstance(result.content, str):
            return result
        if len(result.content) <= self.max_output_chars:
            return result
        clipped = result.content[: self.max_output_chars]
        note = f"\n[output cut at {self.max_output_chars} characters]"
        return result.model_copy(update={"content": clipped + note})


def _error(request: ToolCallRequest, text: str) -> ToolMessage:
    call = request.tool_call
    return ToolMessage(content=text, tool_call_id=call["id"] or "", name=call["name"], status="error")
