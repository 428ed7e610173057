"""The OpenAI-compatible chat door, driven by the official ``openai`` SDK against a live server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import openai
import pytest
from apiharness import BLOCK_TIMEOUT_S, LiveServer
from langgraph_sdk import get_client
from support.polling import until

KEYS = {"key-alice": "alice", "key-bob": "bob"}


@pytest.fixture
def keyed_server(make_server: Callable[..., LiveServer]) -> LiveServer:
    """A live server on SQLite with API keys for alice and bob."""
    return make_server(api_keys=KEYS)


@pytest.fixture
async def alice(keyed_server: LiveServer) -> AsyncIterator[openai.AsyncOpenAI]:
    """alice's OpenAI client (``Authorization: Bearer key-alice``)."""
    async with openai.AsyncOpenAI(base_url=f"{keyed_server.url}/v1", api_key="key-alice") as client:
        yield client


async def test_models_and_a_stateless_completion(keyed_server: LiveServer, alice: openai.AsyncOpenAI) -> None:
    models = [m.id async for m in alice.models.list()]
    assert models[0] == "agent" and len(models) == 2
    reply = await alice.chat.completions.create(
        model="agent",
        messages=[
            {"role": "user", "content": "My name is Ada"},
            {"role": "assistant", "content": "Hello Ada."},
            {"role": "user", "content": "What is my name?"},
        ],
    )
    assert reply.object == "chat.completion" and reply.model == "agent"
    assert reply.choices[0].message.content == "Your name is Ada."
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.total_tokens > 0
    sdk = get_client(url=keyed_server.url, api_key="key-alice")

    async def no_threads_left() -> bool:
        return await sdk.threads.count() == 0

    await until(no_threads_left, "the temporary thread to be deleted")


async def test_streamed_completion_with_usage(alice: openai.AsyncOpenAI) -> None:
    stream = await alice.chat.completions.create(
        model="agent",
        messages=[{"role": "user", "content": "hello there"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(deltas) > 1 and "".join(deltas).startswith("You said")
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    plain = await alice.chat.completions.create(
        model="agent", messages=[{"role": "user", "content": "hello there"}]
    )
    assert plain.choices[0].message.content == "".join(deltas)


async def test_a_thread_kept_over_three_turns_and_read_over_the_agent_protocol(
    keyed_server: LiveServer, alice: openai.AsyncOpenAI
) -> None:
    thread_id = str(uuid.uuid4())
    history: list[dict[str, str]] = []
    replies = []
    for i, text in enumerate(["My name is Ada", "I like tea", "What is my name?"]):
        history.append({"role": "user", "content": text})
        # The client resends the whole history; on a thread only the newest user message is appended.
        how = (
            {"extra_headers": {"X-Thread-Id": thread_id}}
            if i != 1
            else {"metadata": {"thread_id": thread_id}}
        )
        raw = await alice.chat.completions.with_raw_response.create(model="agent", messages=history, **how)
        assert raw.headers["x-thread-id"] == thread_id
        reply = raw.parse().choices[0].message.content or ""
        history.append({"role": "assistant", "content": reply})
        replies.append(reply)
    assert replies[2] == "Your name is Ada."
    sdk = get_client(url=keyed_server.url, api_key="key-alice")
    state = await sdk.threads.get_state(thread_id)
    texts = [m["content"] for m in state["values"]["messages"]]
    assert texts[0::2] == ["My name is Ada", "I like tea", "What is my name?"] and len(texts) == 6
    async with openai.AsyncOpenAI(base_url=f"{keyed_server.url}/v1", api_key="key-bob") as bob:
        with pytest.raises(openai.NotFoundError):  # another owner's thread
            await bob.chat.completions.create(
                model="agent",
                messages=[{"role": "user", "content": "hi"}],
                extra_headers={"X-Thread-Id": thread_id},
            )


async def test_a_tool_turn(alice: openai.AsyncOpenAI) -> None:
    reply = await alice.chat.completions.create(
        model="agent", messages=[{"role": "user", "content": "what is 6*7?"}]
    )
    assert "42" in (reply.choices[0].message.content or "")


async def test_errors_in_openai_shape(keyed_server: LiveServer, alice: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        await alice.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "hi"}])
    assert missing.value.code == "model_not_found" and "gpt-9" in missing.value.message
    assert missing.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as empty:
        await alice.chat.completions.create(model="agent", messages=[])
    assert "messages" in empty.value.message
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    with pytest.raises(openai.BadRequestError) as tools:
        await alice.chat.completions.create(
            model="agent", messages=[{"role": "user", "content": "hi"}], tools=[tool]
        )
    assert tools.value.param == "tools" and "own tools" in tools.value.message
    async with openai.AsyncOpenAI(base_url=f"{keyed_server.url}/v1", api_key="wrong") as stranger:
        with pytest.raises(openai.AuthenticationError) as denied:
            await stranger.models.list()
    assert denied.value.code == "invalid_api_key"


async def test_closing_a_stream_stops_the_run(keyed_server: LiveServer, alice: openai.AsyncOpenAI) -> None:
    thread_id = str(uuid.uuid4())
    stream = await alice.chat.completions.create(
        model="agent",
        messages=[{"role": "user", "content": "BLOCK here"}],
        stream=True,
        extra_headers={"X-Thread-Id": thread_id},
    )
    assert await asyncio.to_thread(keyed_server.model.entered.wait, BLOCK_TIMEOUT_S)
    await stream.close()
    sdk = get_client(url=keyed_server.url, api_key="key-alice")

    async def interrupted() -> bool:
        return [r["status"] for r in await sdk.runs.list(thread_id)] == ["interrupted"]

    await until(interrupted, "the run of the closed stream to be cancelled")


async def test_the_rate_limit_applies_in_openai_shape(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(api_keys=KEYS, rate_limit="2/minute")
    async with openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="key-alice", max_retries=0) as client:
        for _ in range(2):
            await client.models.list()
        with pytest.raises(openai.RateLimitError) as limited:
            await client.models.list()
    assert (
        limited.value.code == "rate_limit_exceeded"
        and int(limited.value.response.headers["retry-after"]) >= 1
    )
