"""repair_tool_pairs turns a damaged conversation into one OpenAI (and the stub) accepts."""

from __future__ import annotations

import uuid

import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_openai import ChatOpenAI
from langchain_openai.chat_models.base import _convert_message_to_dict
from langgraph.checkpoint.memory import InMemorySaver
from support.openai_rules import check_openai_messages
from support.openai_stub import OpenAIStubServer

from sessiongraph.graphs.agent import build_graph
from sessiongraph.graphs.context import Context
from sessiongraph.nodes.repair import STOPPED_RESULT, repair_tool_pairs


def as_openai(messages: list[BaseMessage]) -> list[dict]:
    """The messages as langchain_openai sends them."""
    return [_convert_message_to_dict(m) for m in messages]


def ask(*ids: str) -> AIMessage:
    """An AI message calling the calculator once per id."""
    return AIMessage(
        "", tool_calls=[{"name": "calculator", "args": {"expression": "1+1"}, "id": i} for i in ids]
    )


def answer(call_id: str) -> ToolMessage:
    """A tool result for ``call_id``."""
    return ToolMessage("2", tool_call_id=call_id, name="calculator")


DAMAGED = [HumanMessage("compute 1+1 twice"), ask("a", "b"), answer("a"), HumanMessage("hello?")]


def test_an_unanswered_call_gets_an_error_result_right_after_it() -> None:
    assert check_openai_messages(as_openai(DAMAGED))
    repaired = repair_tool_pairs(DAMAGED)
    assert repaired is not None
    assert check_openai_messages(as_openai(repaired)) == []
    assert [type(m).__name__ for m in repaired] == [
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "ToolMessage",
        "HumanMessage",
    ]
    stopped = repaired[3]
    assert isinstance(stopped, ToolMessage)
    assert (stopped.tool_call_id, stopped.content, stopped.status) == ("b", STOPPED_RESULT, "error")


def test_orphan_results_are_dropped_and_valid_conversations_left_alone() -> None:
    orphaned = [HumanMessage("hi"), answer("ghost"), AIMessage("hello")]
    repaired = repair_tool_pairs(orphaned)
    assert repaired is not None and [m.type for m in repaired] == ["human", "ai"]
    valid = [HumanMessage("hi"), ask("a"), answer("a"), AIMessage("2")]
    assert repair_tool_pairs(valid) is None


def test_the_stub_accepts_the_repaired_conversation(openai_stub: OpenAIStubServer) -> None:
    client = ChatOpenAI(base_url=openai_stub.base_url, api_key="x", model="stub", max_retries=0)
    with pytest.raises(openai.BadRequestError):
        client.invoke(DAMAGED)
    repaired = repair_tool_pairs(DAMAGED)
    assert repaired is not None
    assert client.invoke(repaired).content
    assert len(openai_stub.rejected) == 1 and len(openai_stub.requests) == 2


@st.composite
def histories(draw: st.DrawFn) -> list[BaseMessage]:
    """Conversations with dangling calls, orphans, duplicates and results out of place."""
    messages: list[BaseMessage] = []
    ids: list[str] = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["human", "ai", "calls", "result", "orphan"]))
        if kind == "human":
            messages.append(HumanMessage("q"))
        elif kind == "ai":
            messages.append(AIMessage("r"))
        elif kind == "calls":
            new = [f"c{len(ids) + i}" for i in range(draw(st.integers(1, 3)))]
            ids += new
            messages.append(ask(*new))
        elif kind == "result" and ids:
            messages.append(answer(draw(st.sampled_from(ids))))
        else:
            messages.append(answer(f"ghost-{uuid.uuid4().hex[:4]}"))
    return messages


@given(histories())
def test_any_history_repairs_to_a_valid_one(messages: list[BaseMessage]) -> None:
    repaired = repair_tool_pairs(messages)
    final = messages if repaired is None else repaired
    assert check_openai_messages(as_openai([HumanMessage("start"), *final])) == []
    assert repair_tool_pairs(final) is None  # idempotent


async def test_the_next_turn_after_a_stopped_run_sends_valid_requests(openai_stub: OpenAIStubServer) -> None:
    client = ChatOpenAI(base_url=openai_stub.base_url, api_key="x", model="stub", max_retries=0)
    graph = build_graph(model=client, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "stopped"}}
    await graph.ainvoke({"messages": [("user", "My name is Ada")]}, config, context=Context())
    # A run stopped between execute and tools leaves a call without its result.
    await graph.aupdate_state(
        config, {"messages": [HumanMessage("compute 1+1"), ask("dangling")]}, as_node="answer"
    )
    assert check_openai_messages(as_openai((await graph.aget_state(config)).values["messages"]))

    values = await graph.ainvoke({"messages": [("user", "What is my name?")]}, config, context=Context())
    assert values["messages"][-1].content == "Your name is Ada."
    assert check_openai_messages(as_openai(values["messages"])) == []
    assert openai_stub.rejected == []
