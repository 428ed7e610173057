"""The offline model is deterministic and supports tools, structured output and streaming."""

from __future__ import annotations

import uuid

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from sessiongraph.graphs.agent import build_graph
from sessiongraph.graphs.context import Context
from sessiongraph.nodes.models import ModelConfigError, create_chat_model
from sessiongraph.nodes.offline import OfflineChatModel
from sessiongraph.nodes.schemas import ReflectionOutput, UnderstandingOutput
from sessiongraph.nodes.tools import BUILTIN_TOOLS

REQUESTS = ["hello", "what is 12*7 and 3+4?", "time in Europe/Paris", "count the words in: a b c"]


@pytest.mark.parametrize("text", REQUESTS)
def test_same_input_same_output(text: str) -> None:
    one, two = OfflineChatModel(), OfflineChatModel()
    first, second = one.invoke(text), two.invoke(text)
    assert (first.content, first.usage_metadata) == (second.content, second.usage_metadata)
    bound_one, bound_two = one.bind_tools(list(BUILTIN_TOOLS)), two.bind_tools(list(BUILTIN_TOOLS))
    first, second = bound_one.invoke(text), bound_two.invoke(text)
    assert first.tool_calls == second.tool_calls  # ids included
    assert first.content == second.content


def test_tool_calls_by_request() -> None:
    model = OfflineChatModel().bind_tools(list(BUILTIN_TOOLS))
    assert [(c["name"], c["args"]) for c in model.invoke("time in Europe/Paris").tool_calls] == [
        ("current_time", {"timezone": "Europe/Paris"})
    ]
    assert [(c["name"], c["args"]) for c in model.invoke("count the words in: a b c").tool_calls] == [
        ("text_stats", {"text": "a b c"})
    ]
    assert model.invoke("hello").tool_calls == []


async def test_whole_turns_are_deterministic() -> None:
    graph = build_graph(checkpointer=InMemorySaver())
    transcripts = []
    for _ in range(2):
        config = {"configurable": {"thread_id": str(uuid.uuid4())}}
        for text in ["My name is Ada", "what is 12*7 and 3+4?", "compute 1/0", "What is my name?"]:
            await graph.ainvoke({"messages": [("user", text)]}, config, context=Context())
        messages = (await graph.aget_state(config)).values["messages"]
        transcripts.append(
            [
                (m.type, m.content, [(c["id"], c["name"], c["args"]) for c in getattr(m, "tool_calls", [])])
                for m in messages
            ]
        )
    assert transcripts[0] == transcripts[1]
    assert transcripts[0][-1][1] == "Your name is Ada."


async def test_streaming_matches_invoke() -> None:
    model = OfflineChatModel()
    whole = await model.ainvoke("hello there")
    chunks = [c async for c in model.astream("hello there")]
    assert len([c for c in chunks if c.content]) > 3
    assert "".join(str(c.content) for c in chunks) == whole.content
    assert chunks[-1].usage_metadata == whole.usage_metadata


def test_structured_output_through_forced_tool_calls() -> None:
    model = OfflineChatModel()
    understood = model.with_structured_output(UnderstandingOutput).invoke("compute 2+2")
    assert understood == UnderstandingOutput(goal="Respond to: compute 2+2", needs_tools=True)
    verdict = model.with_structured_output(ReflectionOutput).invoke([HumanMessage("double-check 2+2")])
    assert verdict.verdict == "replan"


def test_replies_say_they_are_offline() -> None:
    reply = OfflineChatModel().invoke("hello")
    assert isinstance(reply, AIMessage)
    assert reply.response_metadata["model_provider"] == "offline"


def test_model_factory() -> None:
    assert isinstance(create_chat_model("offline"), OfflineChatModel)
    with pytest.raises(ModelConfigError, match="openai:<model name>"):
        create_chat_model("anthropic:claude")


def test_a_message_of_thousands_of_expressions_makes_a_bounded_batch_of_calls() -> None:
    from sessiongraph.nodes.offline import logic

    text = "compute " + ", ".join(f"{i}*{i}" for i in range(20_000)) + " and " + "(" * 50_000
    calls = logic.requested_calls(text)
    assert len(calls) == logic.MAX_CALLS
    assert calls[0] == ("calculator", {"expression": "0*0"})
    assert logic.arithmetic_expressions("what is round(2.5, 1), 12*7 and 12*7?") == ["round(2.5, 1)", "12*7"]
