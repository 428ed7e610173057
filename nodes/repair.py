"""Keep a conversation valid for OpenAI's message rules after a run was stopped half-way.

Rule: every tool message answers a tool call of the preceding assistant message, and every tool
call is answered. A run cancelled between ``execute`` and ``tools`` leaves a call unanswered;
:func:`repair_tool_pairs` answers it with an error result placed right after the call.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage, RemoveMessage, ToolMessage
from langgraph.graph.message import REMOVE_ALL_MESSAGES

STOPPED_RESULT = "Error: no result, the run was stopped before this tool ran."


def repair_tool_pairs(messages: Sequence[BaseMessage]) -> list[BaseMessage] | None:
    """A repaired copy of ``messages``, or ``None`` when they are valid already.

    Unanswered tool calls get an error result right after their AI message (after the results
    that do exist); tool messages that answer no earlier call are dropped.
    """
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    known: set[str] = set()
    repaired: list[BaseMessage] = []
    changed = False
    pending: list[ToolMessage] = []
    for message in messages:
        if pending and not isinstance(message, ToolMessage):
            repaired.extend(pending)
            pending = []
        if isinstance(message, AIMessage) and message.tool_calls:
            for call in message.tool_calls:
                known.add(call["id"] or "")
                if call["id"] not in answered:
                    changed = True
                    pending.append(
                        ToolMessage(
                            STOPPED_RESULT, tool_call_id=call["id"] or "", name=call["name"], status="error"
                        )
                    )
        if isinstance(message, ToolMessage) and message.tool_call_id not in known:
            changed = True
            continue
        repaired.append(message)
    repaired.extend(pending)
    return repaired if changed else None


def replace_all(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """An ``add_messages`` update that replaces the whole conversation with ``messages``."""
    return [RemoveMessage(id=REMOVE_ALL_MESSAGES), *messages]
