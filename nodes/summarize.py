"""summarize: fold the oldest turns into a running summary when the prompt outgrows its budget.

The persisted prompt is the running summary (as a system message) plus ``messages``; it is
counted with the chat model's own token counter, or the documented approximation
(:func:`sessiongraph.nodes.models.count_tokens`). The node runs at the start of a turn, when the
newest human message is already in ``messages`` and the prompt is over ``summary_trigger_tokens``.

Guarantees (each covered by property tests in ``tests/nodes/test_summarize_properties.py``):

1. Messages are removed only at a turn boundary (a human message) that no tool call crosses, so
   an AI tool call (parallel calls and invalid calls included) is never separated from its tool
   results: a history that OpenAI accepts before folding is accepted after it.
2. The newest human message and everything after it are always kept verbatim.
3. After folding, summary + kept messages fit ``summary_trigger_tokens``: the kept turns fit
   ``summary_keep_tokens`` and the summary ``summary_max_tokens`` (oldest lines dropped first),
   and the context guarantees keep + max <= trigger. The one exception is a newest turn that is
   larger than the keep budget on its own: it is kept whole (guarantee 2 wins) and everything
   older is folded.
4. Bookkeeping is a counter (``summarized_messages``), never a list of removed ids.
5. If the summarizing model call fails or returns nothing usable, history is left untouched (no
   error text is written anywhere); the turn goes on and answers, and the next turn tries again.
6. With a store (the graph's), every folded message is archived in the thread's memory namespace
   with its turn number before it leaves the state, and a user message a pin rule matches
   (``Settings.pin_patterns``) is pinned (:mod:`sessiongraph.nodes.memory`); if archiving fails,
   nothing is folded. The state keeps only the ``archived_turns`` counter, no copy.

The summary is extended, not rewritten from scratch: the model gets the previous summary and the
folded transcript and returns the updated summary, which every node then receives as context
(:func:`sessiongraph.nodes.prompting.system_message`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
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
from langgraph.config import get_config
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from sessiongraph.graphs.context import Context, context_from_runtime
from sessiongraph.graphs.state import AgentState
from sessiongraph.nodes import prompts
from sessiongraph.nodes.deps import NodeDeps
from sessiongraph.nodes.memory import MemoryScope, archive, number_turns, pin, rule_pins, to_passages
from sessiongraph.nodes.messages import text_of
from sessiongraph.nodes.models import count_tokens
from sessiongraph.nodes.node_types import AgentNode
from sessiongraph.nodes.repair import result_owners
from sessiongraph.nodes.schemas import SummaryOutput
from sessiongraph.nodes.structured import structured_call
from sessiongraph.settings import get_settings

log = logging.getLogger("sessiongraph.nodes.summarize")

TokenCounter = Callable[[list[BaseMessage]], int]

TRANSCRIPT_CLIP_CHARS = 2000
"""Longest text of one message in the summarizer's transcript (tool results: a fifth of it)."""


def summary_message(summary: str) -> list[BaseMessage]:
    """The summary as the prompt carries it (empty list when there is none)."""
    return [SystemMessage(prompts.SUMMARY_CONTEXT.format(summary=summary))] if summary else []


def prompt_tokens(messages: Sequence[BaseMessage], summary: str, count: TokenCounter) -> int:
    """Tokens of the persisted prompt: running summary plus conversation."""
    return count([*summary_message(summary), *messages])


def model_counter(model: BaseChatModel) -> TokenCounter:
    """The token counter of ``model`` (its own, or the approximation when it has none)."""
    return lambda messages: count_tokens(model, messages)


def safe_split_points(messages: Sequence[BaseMessage]) -> list[int]:
    """Indexes where the conversation may be cut: human messages that no tool call crosses.

    A cut at ``i`` is unsafe when an AI message before ``i`` has a tool result at or after ``i``.
    """
    spans = [(owner, result) for result, owner in result_owners(messages).items()]
    crossed: set[int] = set()
    for owner, result in spans:
        crossed.update(range(owner + 1, result + 1))
    return [
        index
        for index, message in enumerate(messages)
        if index > 0 and isinstance(message, HumanMessage) and index not in crossed
    ]


def choose_split(messages: Sequence[BaseMessage], keep_tokens: int, count: TokenCounter) -> int:
    """Where to cut: the earliest safe point whose suffix fits ``keep_tokens``.

    When even the newest turn is over the keep budget, the newest safe point is used, so the
    newest human message is kept whatever its size. Returns 0 when nothing can be folded.
    Suffix sizes shrink as the cut moves right, so the earliest fitting point is found by
    bisection (a handful of counts however long the history is).
    """
    points = safe_split_points(messages)
    if not points:
        return 0
    low, high = 0, len(points) - 1
    while low < high:
        middle = (low + high) // 2
        if count(list(messages[points[middle] :])) <= keep_tokens:
            high = middle
        else:
            low = middle + 1
    return points[low]


def transcript(messages: Sequence[BaseMessage]) -> str:
    """Messages rendered for the summarizer, one line each (long texts clipped)."""
    lines = []
    for message in messages:
        text = " ".join(text_of(message).split())
        if isinstance(message, HumanMessage):
            lines.append(f"user: {_clip(text, TRANSCRIPT_CLIP_CHARS)}")
        elif isinstance(message, AIMessage):
            calls = "; ".join(f"{c['name']}({c['args']})" for c in message.tool_calls)
            if text:
                lines.append(f"assistant: {_clip(text, TRANSCRIPT_CLIP_CHARS)}")
            if calls:
                lines.append(f"tool calls: {_clip(calls, TRANSCRIPT_CLIP_CHARS)}")
        elif isinstance(message, ToolMessage):
            lines.append(f"tool result ({message.status}): {_clip(text, TRANSCRIPT_CLIP_CHARS // 5)}")
    return "\n".join(lines)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bound_summary(summary: str, max_tokens: int, count: TokenCounter) -> str:
    """Trim a summary to ``max_tokens``: drop its oldest lines first, then cut the last one."""
    lines = [line for line in summary.strip().splitlines() if line.strip()]
    while len(lines) > 1 and count(summary_message("\n".join(lines))) > max_tokens:
        lines.pop(0)
    text = "\n".join(lines)
    while text and count(summary_message(text)) > max_tokens:
        text = text[: max(0, int(len(text) * 0.8) - 1)].rstrip()
    return text


def needs_summary(state: AgentState, context: Context, count: TokenCounter) -> bool:
    """Whether the prompt is over the context's trigger budget."""
    return (
        prompt_tokens(state.get("messages", []), state.get("summary", ""), count)
        > context.summary_trigger_tokens
    )


@dataclass(frozen=True)
class BudgetUsage:
    """How much of the summarization budget a thread's next prompt uses."""

    messages: int
    """Messages kept verbatim."""
    prompt_tokens: int
    """Tokens of summary + messages (what ``summary_trigger_tokens`` bounds)."""
    budget_tokens: int
    """The trigger budget (``Context.summary_trigger_tokens``)."""
    summary_chars: int
    summary_tokens: int
    summarized_messages: int
    """Messages folded into the summary so far."""

    @property
    def budget_share(self) -> float:
        """``prompt_tokens / budget_tokens`` (over 1.0 means the next turn summarizes first)."""
        return self.prompt_tokens / self.budget_tokens if self.budget_tokens else 0.0


def budget_usage(values: AgentState | dict[str, Any], context: Context, count: TokenCounter) -> BudgetUsage:
    """Measure a thread's state against the context's budget (for stats)."""
    messages = list(values.get("messages") or [])
    summary = values.get("summary") or ""
    return BudgetUsage(
        messages=len(messages),
        prompt_tokens=prompt_tokens(messages, summary, count),
        budget_tokens=context.summary_trigger_tokens,
        summary_chars=len(summary),
        summary_tokens=count(summary_message(summary)) if summary else 0,
        summarized_messages=int(values.get("summarized_messages") or 0),
    )


Archiver = Callable[[Sequence[BaseMessage], int], Awaitable[None]]
"""Keeps folded messages (and the turn count before them) somewhere before they leave the state."""


async def fold(
    state: AgentState,
    context: Context,
    model: BaseChatModel,
    count: TokenCounter,
    archiver: Archiver | None = None,
) -> dict[str, Any]:
    """The state update that folds the oldest turns into the summary ({} when nothing changes).

    ``archiver`` gets the folded messages before they are removed; if it fails, nothing is folded
    (a message is never dropped from the state without its archived copy).
    """
    messages = list(state.get("messages", []))
    split = choose_split(messages, context.summary_keep_tokens, count)
    if split <= 0:
        return {}
    folded = messages[:split]
    if any(not m.id for m in folded):
        # Persisted messages always carry ids (add_messages assigns them); without one a message
        # could not be removed, and removing only its neighbours could split a tool call.
        log.warning("messages without ids cannot be folded; history left untouched")
        return {}
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
    if not summary:
        log.warning("summary_max_tokens=%d leaves no room for a summary", context.summary_max_tokens)
        return {}
    turns_before = int(state.get("archived_turns") or 0)
    if archiver is not None:
        try:
            await archiver(folded, turns_before)
        except Exception:
            log.exception("archiving folded messages failed; history left untouched")
            return {}
    return {
        "summary": summary,
        "messages": [RemoveMessage(id=m.id) for m in folded if m.id],
        "summarized_messages": int(state.get("summarized_messages") or 0) + len(folded),
        "archived_turns": number_turns(folded, turns_before)[-1],
    }


def store_archiver(store: BaseStore, scope: MemoryScope, pin_patterns: Sequence[str]) -> Archiver:
    """Archive folded messages in the thread's memory namespace; pin those a pin rule matches."""

    async def archive_folded(messages: Sequence[BaseMessage], turns_before: int) -> None:
        passages = [p for _, p in to_passages(messages, turns_before, scope.thread_id)]
        await archive(store, scope, passages)
        await pin(store, scope, rule_pins(passages, pin_patterns))

    return archive_folded


def make_summarize(deps: NodeDeps) -> AgentNode:
    """Build the ``summarize`` node (folded messages go to the run's store, when it has one)."""

    async def summarize(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
        context = context_from_runtime(runtime)
        model = deps.chat_model(context)
        scope = MemoryScope.of(get_config())
        archiver = None
        if runtime.store is not None and scope is not None:
            patterns = (deps.settings or get_settings()).pin_patterns
            archiver = store_archiver(runtime.store, scope, patterns)
        return await fold(state, context, model, model_counter(model), archiver)

    return summarize
