"""Reading a conversation: message text, where the current turn starts, and its tool results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from sessiongraph.nodes.prompts import STRUCTURED_RETRY_NAME


def text_of(message: BaseMessage) -> str:
    """The plain text of a message (text content blocks joined)."""
    return message.text


def last_human_index(messages: Sequence[BaseMessage]) -> int:
    """Index of the newest human message (not counting a structured-output retry request), or -1."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, HumanMessage) and message.name != STRUCTURED_RETRY_NAME:
            return index
    return -1


def latest_request(messages: Sequence[BaseMessage]) -> str:
    """The text of the newest human message ('' when there is none)."""
    index = last_human_index(messages)
    return text_of(messages[index]) if index >= 0 else ""


def turn_tool_results(messages: Sequence[BaseMessage]) -> list[tuple[dict[str, Any], ToolMessage]]:
    """(tool call, tool message) pairs of the current turn, in call order."""
    start = last_human_index(messages) + 1
    calls: dict[str, dict[str, Any]] = {}
    pairs: list[tuple[dict[str, Any], ToolMessage]] = []
    for message in messages[start:]:
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                calls[call["id"] or ""] = dict(call)
        elif isinstance(message, ToolMessage) and message.tool_call_id in calls:
            pairs.append((calls[message.tool_call_id], message))
    return pairs
