"""summarize: fold the oldest turns into a running summary when the prompt outgrows its budget.

Guarantees (each covered by property tests):

1. Messages are removed only at a turn boundary (a human message) that no tool call crosses, so an
   AI tool call is never separated from its tool results.
2. The newest human message and its turn are always kept verbatim.
3. After folding, summary + kept messages fit ``summary_trigger_tokens`` (kept turns stay within
   ``summary_keep_tokens``, the summary within ``summary_max_tokens``, oldest lines dropped first),
   unless the newest turn alone is larger than the keep budget.
4. Bookkeeping is a counter (``summarized_messages``), never a list of removed ids.
5. If the summarizing model call fails or returns nothing usable, history is left untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langgraph.runtime import Runtime
from sessiongraph.graphs.context import Context
from sessiongraph.graphs.state import AgentState
from sessiongraph.nodes import prompts
from sessiongraph.nodes._common import NodeDeps, context_of, structured_call
from sessiongraph.nodes.models import count_tokens
from sessiongraph.nodes.offline_logic import text_of
from sessiongraph.nodes.schemas import SummaryOutput

log = logging.getLogger("sessiongraph.nodes.summarize")

TokenCounter = Callable[[list[BaseMessage]], int]


def summary_message(summary: str) -> list[BaseMessage]:
    """The summary as the prompt carries it (empty list when there is none)."""
    return [SystemMessage(prompts.SUMMARY_CONTEXT.format(summary=summary))] if summary else []


def prompt_tokens(messages: Sequence[BaseMessage], summary: str, count: TokenCounter) -> int:
    """Tokens of the persisted prompt: running summary plus conversation."""
    return count([*summary_message(summary), *messages])


def safe_split_points(messages: Sequence[BaseMessage]) -> list[int]:
    """Indexes where the conversation may be cut: human messages that no tool call crosses.

    A cut at ``i`` is unsafe when an AI message before ``i`` has a tool result at or after ``i``.
    """
    call_owner: dict[str, int] = {}
    spans: list[tuple[int, int]] = []
    for index, message in enumerate(messages):
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                call_owner[call["id"] or ""] = index
        elif isinstance(message, ToolMessage) and message.tool_call_id in call_owner:
            spans.append((call_owner[message.tool_call_id], index))
    return [
        index
        for index, message in enumerate(messages)
        if index > 0
        and isinstance(message, HumanMessage)
        and not any(owner < index <= result for owner, result in spans)
    ]


def choose_split(messages: Sequence[BaseMessage], keep_tokens: int, count: TokenCounter) -> int:
    """Where to cut: the earliest safe point whose suffix fits ``keep_tokens``.

    When even the newest turn is over the keep budget, the newest safe point is used, so the
    newest human message is kept whatever its size. Returns 0 when nothing can be folded.
    """
    points = safe_split_points(messages)
    if not points:
        return 0
    for point in points:
        if count(list(messages[point:])) <= keep_tokens:
            return point
    return points[-1]


def transcript(messages: Sequence[BaseMessage]) -> str:
    """Messages rendered for the summarizer, one line each."""
    lines = []
    for message in messages:
        if isinstance(message, HumanMessage):
            lines.append(f"user: {text_of(message)}")
        elif isinstance(message, AIMessage):
            calls = "; ".join(f"{c['name']}({c['args']})" for c in message.tool_calls)
            text = text_of(message)
            lines.append(f"assistant: {text}" if text else f"tool calls: {calls}")
        elif isinstance(message, ToolMessage):
            lines.append(f"tool result ({message.status}): {text_of(message)[:300]}")
    return "\n".join(lines)


def bound_summary(summary: str, max_tokens: int, count: TokenCounter) -> str:
    """Trim a summary to ``max_tokens``: drop its oldest lines first, then cut the last one."""
    lines = [line for line in summary.strip().splitlines() if line.strip()]
    while len(lines) > 1 and count(summary_message("\n".join(lines))) > max_tokens:
        lines.pop(0)
    text = "\n".join(lines)
    while text and count(summary_message(text)) > max_tokens:
        text = text[: max(0, int(len(text) * 0.8) - 1)]
    return text


def needs_summary(state: AgentState, context: Context, count: TokenCounter) -> bool:
    """Whether the prompt is over the context's trigger budget."""
    return (
        prompt_tokens(state.get("messages", []), state.get("summary", ""), count)
        > context.summary_trigger_tokens
    )


async def fold(
    state: AgentState, context: Context, model: BaseChatModel, count: TokenCounter
) -> dict[str, Any]:
    """The state update that folds the oldest turns into the summary ({} when nothing changes)."""
    messages = list(state.get("messages", []))
    split = choose_split(messages, context.summary_keep_tokens, count)
    if split <= 0:
        return {}
    folded = messages[:split]
    previous = state.get("summary", "")
    max_words = max(20, int(context.summary_max_tokens * 0.7))
    request = [
        SystemMessage(prompts.SUMMARIZE.format(max_words=max_words)),
        HumanMessage(
            prompts.SUMMARIZE_INPUT.format(summary=previous or "(none)", transcript=transcript(folded))
        ),
    ]
    try:
        result = await structured_call(model, SummaryOutput, request, None)
    except Exception:
        log.exception("summarization failed; history left untouched")
        return {}
    if result is None or not result.summary.strip():
        log.warning("summarizer returned nothing usable; history left untouched")
        return {}
    summary = bound_summary(result.summary, context.summary_max_tokens, count)
    return {
        "summary": summary,
        "messages": [RemoveMessage(id=m.id) for m in folded if m.id],
        "summarized_messages": state.get("summarized_messages", 0) + len(folded),
    }


def make_summarize(deps: NodeDeps):
    """Build the ``summarize`` node."""

    async def summarize(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
        context = context_of(runtime)
        model = deps.chat_model(context)
        return await fold(state, context, model, lambda msgs: count_tokens(model, msgs))

    return summarize
