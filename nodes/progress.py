"""Tool progress as custom stream events: what ``stream_mode="custom"`` shows while tools run.

Every tool call the ``tools`` node handles is reported through LangGraph's stream writer::

    {"type": "tool_progress", "tool": "calculator", "call_id": "call_1f…", "status": "started"}
    {"type": "tool_progress", "tool": "calculator", "call_id": "call_1f…", "status": "finished"}

``failed`` takes the place of ``finished`` when the tool raised or answered with an error result;
a call the context does not enable never starts, so ``failed`` is its only event. A run that does
not stream the ``custom`` mode (a plain ``ainvoke``), or a node called outside a graph, writes
nowhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final, Literal, TypedDict

from langchain_core.messages import ToolCall, ToolMessage
from langgraph.config import get_stream_writer
from langgraph.errors import GraphBubbleUp
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command, StreamWriter

TOOL_PROGRESS: Final = "tool_progress"
"""The ``type`` of a tool progress event."""

ToolStatus = Literal["started", "finished", "failed"]
"""Where a tool call is: running, done, or done with an error (or refused)."""


class ToolProgress(TypedDict):
    """One custom stream event about one tool call."""

    type: Literal["tool_progress"]
    tool: str
    call_id: str
    status: ToolStatus


def tool_progress(call: ToolCall, status: ToolStatus) -> ToolProgress:
    """The progress event of ``call``."""
    return ToolProgress(type=TOOL_PROGRESS, tool=call["name"], call_id=call["id"] or "", status=status)


def progress_writer() -> StreamWriter:
    """The run's custom stream writer; a writer that drops everything outside a graph run."""
    try:
        return get_stream_writer()
    except (RuntimeError, KeyError):  # no runnable context, or a config without a LangGraph runtime
        return _drop


def _drop(_: Any) -> None:
    return None


ToolResult = ToolMessage | Command
"""What ``ToolNode`` makes of one tool call."""


async def report_tool_progress(
    request: ToolCallRequest, execute: Callable[[ToolCallRequest], Awaitable[ToolResult]]
) -> ToolResult:
    """``ToolNode(awrap_tool_call=...)``: report a call as started, then as finished or failed.

    An interrupt raised inside the tool pauses the call rather than ending it, so it is not
    reported as failed.
    """
    write = progress_writer()
    write(tool_progress(request.tool_call, "started"))
    try:
        result = await execute(request)
    except GraphBubbleUp:
        raise
    except Exception:
        write(tool_progress(request.tool_call, "failed"))
        raise
    failed = isinstance(result, ToolMessage) and result.status == "error"
    write(tool_progress(request.tool_call, "failed" if failed else "finished"))
    return result
