"""Summarization edge cases: oversized turns, summary growth, extension, and which token counter counts."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field
from test_summarize_properties import apply

from sessiongraph import Sessions
from sessiongraph.graphs.context import Context
from sessiongraph.nodes.models import count_tokens
from sessiongraph.nodes.offline import OfflineChatModel
from sessiongraph.nodes.summarize import (
    bound_summary,
    choose_split,
    fold,
    model_counter,
    needs_summary,
    prompt_tokens,
    summary_message,
)
from sessiongraph.settings import Settings

MODEL = OfflineChatModel()
COUNT = model_counter(MODEL)
CTX = Context(model="offline", summary_trigger_tokens=400, summary_keep_tokens=200, summary_max_tokens=150)


def chat(turns: int, size: int = 20, prefix: str = "t") -> list[BaseMessage]:
    messages: list[BaseMessage] = []
    for i in range(turns):
        messages.append(HumanMessage(f"question {prefix}{i} " + "word " * size, id=f"{prefix}h{i}"))
        messages.append(AIMessage(f"answer {prefix}{i} " + "word " * size, id=f"{prefix}a{i}"))
    return messages


class HeavyCounter(BaseChatModel):
    """The offline model's replies with its own token counter (ten times the approximation)."""

    inner: OfflineChatModel = Field(default_factory=OfflineChatModel)

    @property
    def _llm_type(self) -> str:
        return "heavy-counter"

    def bind_tools(self, tools: Any, *, tool_choice: Any = None, **kwargs: Any) -> Any:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], tool_choice=tool_choice, **kwargs)

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ):
        return self.inner._generate(messages, stop, None, **kwargs)

    def get_num_tokens_from_messages(self, messages: list[BaseMessage], tools: Any = None) -> int:
        return 10 * count_tokens_approximately(messages)


class BrokenCounter(OfflineChatModel):
    """A model whose counter cannot run here (like ChatOpenAI without tiktoken's files)."""

    def get_num_tokens_from_messages(self, messages: list[BaseMessage], tools: Any = None) -> int:
        raise OSError("encoding files unavailable")


async def test_a_newest_turn_larger_than_the_keep_budget_is_kept_whole() -> None:
    huge = HumanMessage("please read this: " + "lorem ipsum " * 400, id="huge")
    messages = [*chat(4), huge]
    assert COUNT([huge]) > CTX.summary_keep_tokens

    update = await fold({"messages": messages}, CTX, MODEL, COUNT)

    kept = apply(messages, update)
    assert kept == [huge]  # everything older is folded, the newest message is verbatim
    assert COUNT(summary_message(update["summary"])) <= CTX.summary_max_tokens
    assert update["summarized_messages"] == 8


async def test_the_summary_is_extended_not_rewritten() -> None:
    wide = Context(
        model="offline", summary_trigger_tokens=3000, summary_keep_tokens=200, summary_max_tokens=2000
    )
    first = await fold(
        {"messages": [*chat(3, prefix="a"), HumanMessage("next", id="n1")]}, wide, MODEL, COUNT
    )
    second_state = {
        "messages": [*chat(3, prefix="b"), HumanMessage("next", id="n2")],
        "summary": first["summary"],
    }
    second = await fold(second_state, wide, MODEL, COUNT)

    assert "question a0" in first["summary"]
    assert second["summary"].startswith(first["summary"])  # the old summary is the base
    assert "question b0" in second["summary"]


def test_a_growing_summary_drops_its_oldest_lines_first() -> None:
    lines = [f"- fact number {i}: " + "detail " * 10 for i in range(40)]
    bounded = bound_summary("\n".join(lines), 150, COUNT)

    assert COUNT(summary_message(bounded)) <= 150
    assert bounded.splitlines()[-1] == lines[-1].strip()  # the newest facts survive
    assert lines[0] not in bounded


def test_one_enormous_summary_line_is_cut_to_the_budget() -> None:
    assert COUNT(summary_message(bound_summary("x" * 10_000, 100, COUNT))) <= 100


def test_choose_split_finds_the_earliest_fitting_turn_boundary() -> None:
    messages = [*chat(10), HumanMessage("now", id="now")]
    split = choose_split(messages, 200, COUNT)

    assert isinstance(messages[split], HumanMessage)
    assert COUNT(messages[split:]) <= 200
    assert COUNT(messages[split - 2 :]) > 200  # one turn earlier would not fit


def test_the_models_own_counter_is_used_when_it_has_one() -> None:
    state = {"messages": chat(2)}
    assert not needs_summary(state, CTX, model_counter(MODEL))
    assert needs_summary(state, CTX, model_counter(HeavyCounter()))
    assert prompt_tokens(state["messages"], "", model_counter(HeavyCounter())) == 10 * COUNT(
        state["messages"]
    )


def test_a_counter_that_cannot_run_falls_back_to_the_approximation() -> None:
    messages = chat(2)
    assert count_tokens(BrokenCounter(), messages) == count_tokens_approximately(messages)


async def test_the_graph_summarizes_by_the_models_counter() -> None:
    settings = Settings(checkpoint_url="memory://", model="offline")
    budget = {"summary_trigger_tokens": 1200, "summary_keep_tokens": 600, "summary_max_tokens": 400}
    results = {}
    for name, model in {"approximation": OfflineChatModel(), "own counter": HeavyCounter()}.items():
        async with Sessions.open("memory://", settings=settings, model=model) as sessions:
            for i in range(4):
                values = await sessions.invoke("t", f"hello number {i}, a short message", context=budget)
        results[name] = values.get("summarized_messages", 0)

    assert results["approximation"] == 0
    assert results["own counter"] > 0
