"""The Responses and Conversations APIs, driven by the official ``openai`` SDK against a live server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest
from apiharness import LiveServer
from langgraph_sdk import get_client


@pytest.fixture
async def oai(sqlite_server: LiveServer) -> AsyncIterator[openai.AsyncOpenAI]:
    """An OpenAI client of a live server (no auth)."""
    async with openai.AsyncOpenAI(base_url=f"{sqlite_server.url}/v1", api_key="unused") as client:
        yield client


async def test_a_conversation_is_a_thread(sqlite_server: LiveServer, oai: openai.AsyncOpenAI) -> None:
    conversation = await oai.conversations.create(metadata={"topic": "names"})
    first = await oai.responses.create(model="agent", conversation=conversation.id, input="My name is Ada")
    assert first.status == "completed" and "My name is Ada" in first.output_text
    second = await oai.responses.create(model="agent", conversation=conversation.id, input="What is my name?")
    assert second.output_text == "Your name is Ada."
    assert second.conversation is not None and second.conversation.id == conversation.id
    again = await oai.responses.retrieve(second.id)
    assert again.output_text == "Your name is Ada." and again.status == "completed"
    items = await oai.conversations.items.list(conversation.id, order="asc")
    texts = [(item.role, item.content[0].text) for item in items.data]  # type: ignore[union-attr]
    assert texts[0] == ("user", "My name is Ada") and texts[-1] == ("assistant", "Your name is Ada.")
    assert len(texts) == 4
    newest = await oai.conversations.items.list(conversation.id, limit=1)
    assert [i.id for i in newest.data] == [items.data[-1].id] and newest.has_more
    # The same thread over the Agent Server protocol.
    sdk = get_client(url=sqlite_server.url)
    thread = await sdk.threads.get(conversation.id)
    assert thread["metadata"]["topic"] == "names" and len(thread["values"]["messages"]) == 4
    assert (await oai.conversations.retrieve(conversation.id)).metadata["topic"] == "names"
    deleted = await oai.conversations.delete(conversation.id)
    assert deleted.deleted
    with pytest.raises(openai.NotFoundError):
        await oai.conversations.retrieve(conversation.id)


async def test_streamed_responses_chained_by_previous_response_id(oai: openai.AsyncOpenAI) -> None:
    first = await oai.responses.create(model="agent", input="My name is Ada")
    assert first.conversation is not None  # stored: a kept thread
    stream = await oai.responses.create(
        model="agent", input="What is my name?", previous_response_id=first.id, stream=True
    )
    events = [event async for event in stream]
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    done = events[-1].response  # type: ignore[union-attr]
    assert "".join(deltas) == done.output_text == "Your name is Ada."
    assert done.previous_response_id == first.id
    assert [e.sequence_number for e in events] == list(range(len(events)))


async def test_unstored_responses_and_errors(oai: openai.AsyncOpenAI) -> None:
    reply = await oai.responses.create(model="agent", input="what is 6*7?", store=False)
    assert "42" in reply.output_text and reply.conversation is None
    with pytest.raises(openai.NotFoundError) as missing:
        await oai.responses.create(model="gpt-9", input="hi")
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        await oai.responses.retrieve("resp_nope")
    with pytest.raises(openai.BadRequestError):
        await oai.responses.create(model="agent", input="hi", conversation="not-a-thread")
    with pytest.raises(openai.BadRequestError) as instructions:
        await oai.responses.create(model="agent", input="hi", instructions="be brief")
    assert instructions.value.param == "instructions"
