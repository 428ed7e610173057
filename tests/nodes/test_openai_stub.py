"""The OpenAI stub server speaks the protocol ChatOpenAI expects, and enforces the message rules."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_openai import ChatOpenAI
from support.openai_stub import OpenAIStubServer

from sessiongraph.nodes.schemas import PlanOutput, UnderstandingOutput
from sessiongraph.nodes.tools import calculator


def client(stub: OpenAIStubServer, **kwargs: object) -> ChatOpenAI:
    """A ChatOpenAI talking to ``stub`` (no retries, so request counts are exact)."""
    return ChatOpenAI(base_url=stub.base_url, api_key="x", model="stub", max_retries=0, **kwargs)


def test_invoke_returns_the_offline_reply(openai_stub: OpenAIStubServer) -> None:
    reply = client(openai_stub).invoke("hello")
    assert reply.content.startswith("You said: “hello”")
    assert reply.usage_metadata and reply.usage_metadata["total_tokens"] > 0
    assert openai_stub.requests == [
        {**openai_stub.requests[0], "messages": [{"role": "user", "content": "hello"}]}
    ]


async def test_stream_yields_several_chunks_and_usage(openai_stub: OpenAIStubServer) -> None:
    chunks = [c async for c in client(openai_stub, stream_usage=True).astream("hello there")]
    texts = [c.content for c in chunks if c.content]
    assert len(texts) > 3
    whole = chunks[0]
    for c in chunks[1:]:
        whole += c
    assert whole.content == "".join(texts)
    assert whole.usage_metadata and whole.usage_metadata["input_tokens"] > 0
    assert openai_stub.requests[-1]["stream"] is True
    assert openai_stub.requests[-1]["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("stream", [False, True])
def test_bound_tools_produce_parallel_tool_calls(openai_stub: OpenAIStubServer, stream: bool) -> None:
    model = client(openai_stub).bind_tools([calculator])
    if stream:
        reply: AIMessage | AIMessageChunk | None = None
        for chunk in model.stream("what is 12*7 and 3+4?"):
            reply = chunk if reply is None else reply + chunk
    else:
        reply = model.invoke("what is 12*7 and 3+4?")
    assert reply is not None
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [
        ("calculator", {"expression": "12*7"}),
        ("calculator", {"expression": "3+4"}),
    ]
    assert all(c["id"] for c in reply.tool_calls)
    assert openai_stub.requests[0]["tools"][0]["function"]["name"] == "calculator"


def test_tool_results_close_the_loop(openai_stub: OpenAIStubServer) -> None:
    model = client(openai_stub).bind_tools([calculator])
    question = HumanMessage("what is 6*7?")
    ask = model.invoke([question])
    results = [ToolMessage(calculator.invoke(c["args"]), tool_call_id=c["id"]) for c in ask.tool_calls]
    final = client(openai_stub).invoke([question, ask, *results])
    assert "6*7 = 42" in final.content
    assert openai_stub.violations() == [[], []]


async def test_structured_output_by_function_calling(openai_stub: OpenAIStubServer) -> None:
    understood = (
        await client(openai_stub)
        .with_structured_output(UnderstandingOutput, method="function_calling")
        .ainvoke("compute 2+2")
    )
    assert understood == UnderstandingOutput(goal="Respond to: compute 2+2", needs_tools=True)
    plan = client(openai_stub).with_structured_output(PlanOutput, method="function_calling").invoke("2+2")
    assert plan.steps == ["Compute 2+2 with the calculator", "Compose the answer from the results"]
    forced = openai_stub.requests[0]["tool_choice"]
    assert forced == {"type": "function", "function": {"name": "UnderstandingOutput"}}


def test_a_dangling_tool_call_gets_an_openai_style_400(openai_stub: OpenAIStubServer) -> None:
    dangling = AIMessage("", tool_calls=[{"name": "calculator", "args": {"expression": "1"}, "id": "c1"}])
    with pytest.raises(openai.BadRequestError) as caught:
        client(openai_stub).invoke([HumanMessage("hi"), dangling, HumanMessage("again")])
    error = caught.value.body
    assert isinstance(error, dict)
    assert error["type"] == "invalid_request_error" and error["param"] == "messages"
    assert error["code"] is None
    assert "did not have response messages: c1" in error["message"]
    assert len(openai_stub.rejected) == 1


def test_an_orphan_tool_message_gets_a_400(openai_stub: OpenAIStubServer) -> None:
    with pytest.raises(openai.BadRequestError, match="must be a response to a preceding message"):
        client(openai_stub).invoke([HumanMessage("hi"), ToolMessage("4", tool_call_id="nope")])


def test_fault_injection_by_marker_and_by_callback() -> None:
    with OpenAIStubServer(fail_when=lambda body: 503 if body.get("temperature") == 0.5 else None) as stub:
        with pytest.raises(openai.InternalServerError):
            client(stub).invoke("boom [stub:500]")
        with pytest.raises(openai.RateLimitError):
            client(stub).invoke("slow down [stub:429]")
        with pytest.raises(openai.InternalServerError):
            client(stub, temperature=0.5).invoke("fine")
        assert client(stub).invoke("fine").content.startswith("You said")
        assert len(stub.requests) == 4 and not stub.rejected


def test_raw_http_shapes(openai_stub: OpenAIStubServer) -> None:
    models = httpx.get(f"{openai_stub.base_url}/models").json()
    assert models["object"] == "list" and models["data"][0]["id"] == "stub"
    body = {"model": "stub", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with httpx.stream("POST", f"{openai_stub.base_url}/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    bad = httpx.post(f"{openai_stub.base_url}/chat/completions", content=b"{nope")
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"


def test_the_stub_stops_and_frees_its_port() -> None:
    with OpenAIStubServer() as stub:
        url = stub.base_url
        assert httpx.get(f"{url}/models").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/models")
