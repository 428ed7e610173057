"""The agent driven by ChatOpenAI against the stub server: tools, streaming, and valid requests only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.messages import ToolMessage
from support.openai_stub import OpenAIStubServer

from sessiongraph import Context, Sessions
from sessiongraph.settings import get_settings

OPENAI = Context(model="openai:stub", max_replans=1)


@pytest.fixture
def stub_as_default_endpoint(
    openai_stub: OpenAIStubServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OpenAIStubServer]:
    """The stub, configured as the process's OpenAI endpoint (SESSIONGRAPH_OPENAI_BASE_URL)."""
    monkeypatch.setenv("SESSIONGRAPH_OPENAI_BASE_URL", openai_stub.base_url)
    get_settings.cache_clear()
    yield openai_stub
    get_settings.cache_clear()  # monkeypatch restores the environment after this


async def test_tools_and_a_streamed_answer_over_openai(
    sqlite_url: str, stub_as_default_endpoint: OpenAIStubServer
) -> None:
    stub = stub_as_default_endpoint
    async with Sessions.open(sqlite_url) as sessions:
        thread = (await sessions.create_thread()).thread_id
        await sessions.invoke(thread, "My name is Ada", context=OPENAI)
        answer_chunks = []
        async for event in sessions.astream_events(thread, "what is 12*7 and 3+4?", context=OPENAI):
            if event["event"] == "on_chat_model_stream" and event["metadata"]["langgraph_node"] == "answer":
                answer_chunks.append(event["data"]["chunk"].content)
        values = (await sessions.get_state(thread)).values
        final = values["messages"][-1]
        assert final.content == "Here is what I found: 12*7 = 84; 3+4 = 7."
        assert "".join(answer_chunks) == final.content
        assert len([c for c in answer_chunks if c]) > 3
        assert [m.content for m in values["messages"] if isinstance(m, ToolMessage)] == ["84", "7"]
        assert final.response_metadata.get("model_provider") != "offline"  # it came over HTTP

        values = await sessions.invoke(thread, "What is my name?", context=OPENAI)
        assert values["messages"][-1].content == "Your name is Ada."

    assert stub.rejected == []
    assert all(v == [] for v in stub.violations())
    assert {body["model"] for body in stub.requests} == {"stub"}
    forced = [b["tool_choice"]["function"]["name"] for b in stub.requests if b.get("tool_choice")]
    assert {"UnderstandingOutput", "PlanOutput", "ReflectionOutput"} <= set(forced)
    tool_rounds = [b for b in stub.requests if b.get("tools") and not b.get("tool_choice")]
    assert tool_rounds and any(m["role"] == "tool" for m in tool_rounds[-1]["messages"])
    assert any(b.get("stream") for b in stub.requests)  # the answer was streamed over SSE


async def test_a_failing_tool_replans_over_openai(
    sqlite_url: str, stub_as_default_endpoint: OpenAIStubServer
) -> None:
    async with Sessions.open(sqlite_url) as sessions:
        values = await sessions.invoke("t-fail", "compute 1/0", context=OPENAI)
        assert values["iteration"] == 1
        assert "division by zero" in values["messages"][-1].content
        values = await sessions.invoke("t-fail", "compute 2+2", context=OPENAI)
        assert values["messages"][-1].content == "Here is what I found: 2+2 = 4."
    assert stub_as_default_endpoint.rejected == []


async def test_plan_approval_over_openai(sqlite_url: str, stub_as_default_endpoint: OpenAIStubServer) -> None:
    context = Context(model="openai:stub", require_plan_approval=True)
    async with Sessions.open(sqlite_url) as sessions:
        await sessions.invoke("t-review", "compute 12*7", context=context)
        assert (await sessions.get_thread("t-review")).status == "interrupted"
        values = await sessions.resume("t-review", {"action": "reject", "reason": "later"}, context=context)
        assert values["messages"][-1].content.startswith("Understood: the plan was rejected (later)")
        values = await sessions.invoke("t-review", "compute 2+2", context=Context(model="openai:stub"))
        assert values["messages"][-1].content == "Here is what I found: 2+2 = 4."
    assert stub_as_default_endpoint.rejected == []
