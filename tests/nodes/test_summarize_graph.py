"""Summarization inside the real graph: real turns, real checkpoints, the OpenAI stub as the judge."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
from support.openai_stub import OpenAIStubServer
from test_summarize_properties import FailingSummarizer, openai_violations

from sessiongraph import Sessions
from sessiongraph.nodes import prompts
from sessiongraph.settings import Settings

BUDGET = {"summary_trigger_tokens": 700, "summary_keep_tokens": 350, "summary_max_tokens": 250}
SUMMARY_MARK = prompts.SUMMARY_CONTEXT.split("\n", 1)[0]
TURNS = [
    "My name is Ada.",
    "12*7 and 3+4",  # parallel calculator calls
    "Tell me something about graphs, please, in a few words.",
    "1/0",  # a failing tool, replans
    "what is 2**10 and 5*5 and 9-3?",
    "Count the words in: the quick brown fox jumps over the lazy dog",
    "Just chatting here, nothing to compute at all.",
    "12*7 and 3+4, double-check it",
    "Another plain message to make the conversation longer.",
]


def _settings() -> Settings:
    return Settings(checkpoint_url="memory://", model="offline")


def _is_summary_request(body: dict[str, Any]) -> bool:
    return any(t["function"]["name"] == "SummaryOutput" for t in body.get("tools") or [])


async def test_turns_through_chat_openai_are_accepted_by_the_stub_after_summarization(
    openai_stub: OpenAIStubServer,
) -> None:
    model = ChatOpenAI(model="stub", base_url=openai_stub.base_url, api_key="x", max_retries=0)
    async with Sessions.open("memory://", settings=_settings(), model=model) as sessions:
        for text in [*TURNS, *TURNS]:
            await sessions.invoke("t", text, context=BUDGET)
        values = await sessions.invoke("t", "What is my name?", context=BUDGET)

    assert openai_stub.rejected == []
    assert values["summarized_messages"] > 0
    assert "Ada" in values["summary"]  # the name was folded away, and is remembered
    assert values["messages"][-1].content == "Your name is Ada."
    assert openai_violations(values["messages"], values["summary"]) == []
    first_fold = next(i for i, body in enumerate(openai_stub.requests) if _is_summary_request(body))
    later = [b for b in openai_stub.requests[first_fold + 1 :] if not _is_summary_request(b)]
    assert later
    # The summary reaches the prompt of every node (understand, plan, execute, reflect, answer).
    assert all(SUMMARY_MARK in body["messages"][0]["content"] for body in later)
    parallel = [
        m for body in openai_stub.requests for m in body["messages"] if len(m.get("tool_calls") or []) > 1
    ]
    assert parallel, "the conversation exercised parallel tool calls"


async def test_a_failing_summarizer_leaves_history_untouched_and_the_turn_answers() -> None:
    async with Sessions.open("memory://", settings=_settings(), model=FailingSummarizer()) as sessions:
        for text in TURNS:
            await sessions.invoke("t", text, context=BUDGET)
        values = await sessions.invoke("t", "What is my name?", context=BUDGET)
        status = (await sessions.get_thread("t")).status

    assert status == "idle"
    assert values["messages"][-1].content == "Your name is Ada."
    assert not values.get("summary")
    assert not values.get("summarized_messages")
    humans = [m.content for m in values["messages"] if isinstance(m, HumanMessage)]
    assert humans == [*TURNS, "What is my name?"]  # nothing was removed
    assert not any("unavailable" in str(m.content) for m in values["messages"])
