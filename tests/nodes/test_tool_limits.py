"""Every tool call is held to a time limit and an output-size limit (issue 13)."""

from __future__ import annotations

import threading

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode

from sessiongraph.nodes.progress import report_tool_progress
from sessiongraph.nodes.tool_limits import ToolLimits

release = threading.Event()


@tool
def chatty(text: str) -> str:
    """Answer with a lot of text."""
    return text * 1000


@tool
def stuck(text: str) -> str:
    """Wait until released."""
    release.wait(30)
    return "late"


async def call(tool_name: str, limits: ToolLimits) -> ToolMessage:
    node = ToolNode([chatty, stuck], awrap_tool_call=limits.wrap(report_tool_progress))
    graph = StateGraph(MessagesState).add_node("tools", node).add_edge(START, "tools").compile()
    asked = AIMessage(content="", tool_calls=[{"name": tool_name, "args": {"text": "ab"}, "id": "c1"}])
    result = await graph.ainvoke({"messages": [asked]})
    message = result["messages"][-1]
    assert isinstance(message, ToolMessage)
    return message


async def test_a_long_result_is_cut_at_the_limit() -> None:
    message = await call("chatty", ToolLimits(timeout_s=5, max_output_chars=50))
    assert message.status != "error"
    assert message.content.startswith("ab" * 25) and "[output cut at 50 characters]" in message.content


async def test_a_call_over_its_time_limit_is_an_error_result() -> None:
    try:
        message = await call("stuck", ToolLimits(timeout_s=0.2, max_output_chars=50))
    finally:
        release.set()
    assert message.status == "error" and "took longer than 0.2 s" in message.content
