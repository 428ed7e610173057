"""Property tests of summarization and repair over random agent conversations (hypothesis).

A conversation is a list of turns, each a human message followed by zero to two tool rounds (an
AI message making one to three calls, parallel calls included, sometimes an invalid call, then
the results in any order, some of them errors) and usually a final answer. Every message has an
id, as the ``add_messages`` reducer guarantees in a real thread. The newest human message comes
last, as it does when the ``summarize`` node runs at the start of a turn.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_openai.chat_models.base import _convert_message_to_dict
from langgraph.graph.message import add_messages
from support.openai_rules import check_openai_messages

from sessiongraph.graphs.context import MIN_SUMMARY_TOKENS, Context
from sessiongraph.nodes.offline import OfflineChatModel
from sessiongraph.nodes.repair import repair_tool_pairs
from sessiongraph.nodes.summarize import fold, model_counter, needs_summary, prompt_tokens, summary_message

_ids = itertools.count()

words = st.text(alphabet="abcdefghij klmnopqrstuvwxyz0123456789", min_size=1, max_size=60)
texts = st.lists(words, min_size=1, max_size=12).map(lambda parts: " ".join(parts).strip() or "x")


def _next_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


@st.composite
def tool_round(draw: st.DrawFn) -> list[BaseMessage]:
    """An AI message with 1-3 calls (sometimes one invalid) and its results in random order."""
    calls = [
        {
            "name": draw(st.sampled_from(["calculator", "text_stats", "current_time"])),
            "args": {"expression": draw(words)},
            "id": _next_id("call"),
            "type": "tool_call",
        }
        for _ in range(draw(st.integers(1, 3)))
    ]
    invalid = []
    if draw(st.booleans()) and draw(st.booleans()):
        invalid = [
            {
                "name": "calculator",
                "args": "{not json",
                "id": _next_id("call"),
                "error": "malformed arguments",
                "type": "invalid_tool_call",
            }
        ]
    content = draw(st.one_of(st.just(""), texts))
    ai = AIMessage(content=content, tool_calls=calls, invalid_tool_calls=invalid, id=_next_id("ai"))
    results: list[BaseMessage] = [
        ToolMessage(
            draw(texts),
            tool_call_id=call["id"],
            name=call.get("name"),
            status=draw(st.sampled_from(["success", "success", "error"])),
            id=_next_id("tool"),
        )
        for call in [*calls, *invalid]
    ]
    return [ai, *draw(st.permutations(results))]


@st.composite
def turn(draw: st.DrawFn) -> list[BaseMessage]:
    """One finished turn: human message, tool rounds, usually an answer."""
    messages: list[BaseMessage] = [HumanMessage(draw(texts), id=_next_id("human"))]
    for _ in range(draw(st.integers(0, 2))):
        messages += draw(tool_round())
    if draw(st.integers(0, 5)) > 0:
        messages.append(AIMessage(draw(texts), id=_next_id("ai")))
    return messages


@st.composite
def conversation(draw: st.DrawFn, min_turns: int = 1, max_turns: int = 12) -> list[BaseMessage]:
    """Finished turns, then the newest human message."""
    messages: list[BaseMessage] = []
    for _ in range(draw(st.integers(min_turns, max_turns))):
        messages += draw(turn())
    messages.append(HumanMessage(draw(texts), id=_next_id("human")))
    return messages


@st.composite
def budgets(draw: st.DrawFn) -> Context:
    """A context with random but consistent summary budgets (keep + max <= trigger)."""
    trigger = draw(st.integers(150, 1500))
    keep = draw(st.integers(40, trigger - MIN_SUMMARY_TOKENS))
    summary_max = draw(st.integers(MIN_SUMMARY_TOKENS, trigger - keep))
    return Context(
        model="offline",
        summary_trigger_tokens=trigger,
        summary_keep_tokens=keep,
        summary_max_tokens=summary_max,
    )


def openai_violations(messages: list[BaseMessage], summary: str = "") -> list[str]:
    """OpenAI's verdict on a prompt made of a system message, the summary and ``messages``."""
    system: list[BaseMessage] = [SystemMessage("You are a test.")]
    if summary:
        system.append(SystemMessage(f"Summary:\n{summary}"))
    dicts: list[dict[str, Any]] = [_convert_message_to_dict(m) for m in [*system, *messages]]
    return check_openai_messages(dicts)


# --- models ------------------------------------------------------------------------------


class FailingSummarizer(OfflineChatModel):
    """The offline model, except that every summarization request raises (a provider outage)."""

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ):
        if _asks_for_summary(kwargs):
            raise RuntimeError("summarizer unavailable (HTTP 503)")
        return super()._generate(messages, stop, run_manager, **kwargs)


class GarbageSummarizer(OfflineChatModel):
    """The offline model, except that it answers summarization requests with prose, not the schema."""

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ):
        if _asks_for_summary(kwargs):
            reply = AIMessage("Sorry, I cannot summarize that.")
            return ChatResult(generations=[ChatGeneration(message=reply)])
        return super()._generate(messages, stop, run_manager, **kwargs)


def _asks_for_summary(kwargs: dict[str, Any]) -> bool:
    return any(t["function"]["name"] == "SummaryOutput" for t in kwargs.get("tools") or [])


MODEL = OfflineChatModel()
COUNT = model_counter(MODEL)
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

summaries = st.lists(texts, max_size=6).map("\n".join)


def apply(messages: list[BaseMessage], update: dict[str, Any]) -> list[BaseMessage]:
    """The conversation after the ``add_messages`` reducer applied ``update``."""
    return list(add_messages(messages, update["messages"])) if "messages" in update else list(messages)


def newest_turn(messages: list[BaseMessage]) -> list[BaseMessage]:
    last_human = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
    return messages[last_human:]


# --- the five invariants of one fold -------------------------------------------------------


@PROPERTY_SETTINGS
@given(conv=conversation(), ctx=budgets(), previous=summaries, folded_before=st.integers(0, 500))
async def test_fold_keeps_every_invariant(
    conv: list[BaseMessage], ctx: Context, previous: str, folded_before: int
) -> None:
    assert openai_violations(conv) == []  # the generator makes valid histories
    state = {"messages": conv, "summary": previous, "summarized_messages": folded_before}

    update = await fold(state, ctx, MODEL, COUNT)

    kept = apply(conv, update)
    summary = update.get("summary", previous)
    # 1. OpenAI accepts the kept history (no orphan result, no unanswered call).
    assert openai_violations(kept, summary) == []
    # 2. What is kept is a suffix of the conversation holding the newest human message.
    assert [m.id for m in kept] == [m.id for m in conv[len(conv) - len(kept) :]]
    assert kept[-1].id == conv[-1].id
    assert update, "a conversation with an earlier turn always has something to fold"
    # 3. The prompt fits the budget whenever the newest turn fits the keep budget.
    if COUNT(newest_turn(conv)) <= ctx.summary_keep_tokens:
        assert prompt_tokens(kept, summary, COUNT) <= ctx.summary_trigger_tokens
    assert COUNT(summary_message(summary)) <= ctx.summary_max_tokens
    # 4. Bookkeeping is a counter: no list of removed ids anywhere in the update.
    assert set(update) == {"summary", "messages", "summarized_messages", "archived_turns"}
    assert all(isinstance(m, RemoveMessage) for m in update["messages"])
    assert update["summarized_messages"] == folded_before + len(conv) - len(kept)


@PROPERTY_SETTINGS
@given(
    conv=conversation(),
    ctx=budgets(),
    previous=summaries,
    model=st.sampled_from([FailingSummarizer(), GarbageSummarizer()]),
)
async def test_failed_summarization_leaves_history_untouched(
    conv: list[BaseMessage], ctx: Context, previous: str, model: OfflineChatModel
) -> None:
    # 5. A failing or unusable summarizer changes nothing (and writes no error text anywhere).
    state = {"messages": conv, "summary": previous}
    assert await fold(state, ctx, model, model_counter(model)) == {}


@PROPERTY_SETTINGS
@given(turns=st.lists(turn(), min_size=2, max_size=25), ctx=budgets())
async def test_a_long_session_stays_valid_and_bounded(turns: list[list[BaseMessage]], ctx: Context) -> None:
    """Turn after turn, summarizing whenever the prompt is over budget, as the graph does."""
    state: dict[str, Any] = {"messages": []}
    removed = 0
    for messages in turns:
        state["messages"] = [*state["messages"], messages[0]]  # the new human message arrives
        if needs_summary(state, ctx, COUNT):
            update = await fold(state, ctx, MODEL, COUNT)
            before = len(state["messages"])
            state = {**state, **update, "messages": apply(state["messages"], update)}
            removed += before - len(state["messages"])
            assert state["messages"][-1].id == messages[0].id
            if COUNT([messages[0]]) <= ctx.summary_keep_tokens:
                assert prompt_tokens(state["messages"], state["summary"], COUNT) <= ctx.summary_trigger_tokens
        assert openai_violations(state["messages"], state.get("summary", "")) == []
        state["messages"] = [*state["messages"], *messages[1:]]  # the rest of the turn
    assert set(state) <= {"messages", "summary", "summarized_messages", "archived_turns"}
    assert state.get("summarized_messages", 0) == removed
    assert all(isinstance(value, int | str | list) for value in state.values())


# --- repair: any damaged history comes out valid --------------------------------------------


@st.composite
def damaged(draw: st.DrawFn) -> list[BaseMessage]:
    """A valid conversation with messages dropped, tool results moved and duplicated."""
    messages = list(draw(conversation(max_turns=6)))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["drop", "move", "duplicate"]))
        index = draw(st.integers(0, len(messages) - 1))
        if action == "drop" and len(messages) > 1:
            messages.pop(index)
        elif action == "move":
            message = messages.pop(index)
            messages.insert(draw(st.integers(0, len(messages))), message)
        elif isinstance(messages[index], ToolMessage):
            messages.insert(draw(st.integers(0, len(messages))), messages[index])
    return messages


@PROPERTY_SETTINGS
@given(conv=conversation())
def test_repair_leaves_valid_histories_alone(conv: list[BaseMessage]) -> None:
    assert repair_tool_pairs(conv) is None


@PROPERTY_SETTINGS
@given(messages=damaged())
def test_repair_makes_any_history_valid(messages: list[BaseMessage]) -> None:
    repaired = repair_tool_pairs(messages) or messages
    assert openai_violations(repaired) == []
    assert repair_tool_pairs(repaired) is None  # idempotent
    others = [m for m in messages if not isinstance(m, ToolMessage)]
    assert [m for m in repaired if not isinstance(m, ToolMessage)] == others
    assert all(m.status == "error" for m in repaired if isinstance(m, ToolMessage) and m.id is None)


@PROPERTY_SETTINGS
@given(messages=damaged(), ctx=budgets())
async def test_fold_then_repair_is_valid_even_on_damaged_history(
    messages: list[BaseMessage], ctx: Context
) -> None:
    """The graph's order at the start of a turn: summarize, then understand repairs."""
    assume(any(isinstance(m, HumanMessage) for m in messages))
    update = await fold({"messages": messages}, ctx, MODEL, COUNT)
    kept = apply(messages, update)
    final = repair_tool_pairs(kept) or kept
    assert openai_violations(final, update.get("summary", "")) == []
