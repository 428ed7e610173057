"""Keep a conversation valid for OpenAI's message rules, whatever happened to it before.

OpenAI's rules (HTTP 400 otherwise): every tool message answers a tool call of the assistant
message right before it (only tool messages in between), and every tool call is answered before
the next non-tool message. Invalid tool calls count: ``langchain_openai`` sends an AI message's
``invalid_tool_calls`` as tool calls too, so they need an answer as well.

A run cancelled between ``execute`` and ``tools`` leaves a call unanswered; a history edited by
hand (or by another tool) may hold results far from their call, duplicated, or orphaned.
:func:`repair_tool_pairs` fixes all of these: results move right after their call, unanswered
calls get an error result, orphans and duplicates are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage, RemoveMessage, ToolMessage
from langgraph.graph.message import REMOVE_ALL_MESSAGES

STOPPED_RESULT = "Error: no result, the run was stopped before this tool ran."


def call_ids(message: BaseMessage) -> list[str]:
    """The ids of the tool calls an AI message makes, as OpenAI sees them (invalid calls included)."""
    if not isinstance(message, AIMessage):
        return []
    ids = [c.get("id") or "" for c in message.tool_calls]
    ids += [c.get("id") or "" for c in message.invalid_tool_calls]
    if not ids:  # legacy messages carry OpenAI's raw tool calls only in additional_kwargs
        ids = [c.get("id") or "" for c in message.additional_kwargs.get("tool_calls") or []]
    return ids


def call_names(message: AIMessage) -> dict[str, str]:
    """Tool name of each call id of an AI message (invalid calls included)."""
    names = {c.get("id") or "": c.get("name") or "" for c in message.invalid_tool_calls}
    names.update({c.get("id") or "": c["name"] for c in message.tool_calls})
    return names


def result_owners(messages: Sequence[BaseMessage]) -> dict[int, int]:
    """For each tool message (by index), the index of the AI message whose call it answers.

    A result belongs to the nearest earlier AI message that made the call and has no result for
    it yet; tool messages without such a call (orphans, duplicates) are absent from the mapping.
    """
    open_calls: dict[str, int] = {}  # call id -> index of the AI message waiting for its result
    owners: dict[int, int] = {}
    for index, message in enumerate(messages):
        if isinstance(message, AIMessage):
            for call_id in call_ids(message):
                open_calls[call_id] = index
        elif isinstance(message, ToolMessage) and message.tool_call_id in open_calls:
            owners[index] = open_calls.pop(message.tool_call_id)
    return owners


def repair_tool_pairs(messages: Sequence[BaseMessage]) -> list[BaseMessage] | None:
    """A repaired copy of ``messages``, or ``None`` when they are valid already.

    Each AI message with tool calls is followed by the results of its calls (in their original
    order), then by an error result for every call that has none. Tool messages that answer no
    earlier call, or a call answered already, are dropped.
    """
    owners = result_owners(messages)
    results: dict[int, list[ToolMessage]] = {}
    for tool_index, owner in owners.items():
        results.setdefault(owner, []).append(messages[tool_index])  # type: ignore[arg-type]
    repaired: list[BaseMessage] = []
    for index, message in enumerate(messages):
        if isinstance(message, ToolMessage):
            continue  # emitted right after its AI message below (or dropped as an orphan)
        repaired.append(message)
        ids = call_ids(message)
        if not ids:
            continue
        answers = results.get(index, [])
        repaired.extend(answers)
        answered = {m.tool_call_id for m in answers}
        names = call_names(message)  # type: ignore[arg-type]
        repaired.extend(
            ToolMessage(STOPPED_RESULT, tool_call_id=call_id, name=names.get(call_id) or None, status="error")
            for call_id in dict.fromkeys(ids)
            if call_id not in answered
        )
    changed = len(repaired) != len(messages) or any(
        a is not b for a, b in zip(repaired, messages, strict=True)
    )
    return repaired if changed else None


def replace_all(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """An ``add_messages`` update that replaces the whole conversation with ``messages``."""
    return [RemoveMessage(id=REMOVE_ALL_MESSAGES), *messages]
