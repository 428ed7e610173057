"""``ServerChatOpenAI`` sends what ``ChatOpenAI`` sends: the same request bodies reach a real
OpenAI-compatible server, plain, streamed, with tools and as a structured call."""

from __future__ import annotations

import asyncio

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel
from support.openai_stub import OpenAIStubServer

from sessiongraph.nodes.models import create_chat_model
from sessiongraph.nodes.openai_model import ServerChatOpenAI
from sessiongraph.nodes.structured import structured_call
from sessiongraph.settings import Settings


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


class Verdict(BaseModel):
    """Whether the request needs tools."""

    needs_tools: bool


MESSAGES = [SystemMessage("be brief"), HumanMessage("what is 6*7?")]


async def _bodies(model: ChatOpenAI, stub: OpenAIStubServer) -> list[dict]:
    """The bodies the stub receives for a plain, a streamed, a tool-bound and a structured call."""
    stub.requests.clear()
    await model.ainvoke(MESSAGES)
    async for _ in model.astream(MESSAGES):
        pass
    await model.bind_tools([multiply]).ainvoke(MESSAGES)
    verdict = await structured_call(model, Verdict, MESSAGES, fallback=None)
    assert isinstance(verdict, Verdict)
    return list(stub.requests)


async def test_the_same_bodies_reach_the_server(openai_stub: OpenAIStubServer) -> None:
    options = {"model": "stub", "base_url": openai_stub.base_url, "api_key": "k", "temperature": 0.0}
    stock = await _bodies(ChatOpenAI(**options), openai_stub)
    lean = await _bodies(ServerChatOpenAI(**options), openai_stub)
    assert len(lean) == 4
    assert lean == stock
    assert lean[2]["tools"][0]["function"]["name"] == "multiply"
    assert lean[3]["tool_choice"]["function"]["name"] == "Verdict"
    assert all(body["messages"][-1]["content"] == "what is 6*7?" for body in lean)
    assert openai_stub.violations() == [[]] * 4


def test_settings_models_are_server_clients(openai_stub: OpenAIStubServer) -> None:
    settings = Settings(model="openai:stub", openai_base_url=openai_stub.base_url, max_concurrent_runs=300)
    model = create_chat_model(settings=settings)
    assert isinstance(model, ServerChatOpenAI)
    assert model.http_async_client is not None


def test_each_event_loop_calls_the_model_over_its_own_connections(openai_stub: OpenAIStubServer) -> None:
    """A model's HTTP connections belong to the loop that opened them: a CLI or notebook that runs
    ``asyncio.run`` twice must get a working model each time."""
    settings = Settings(model="openai:stub", openai_base_url=openai_stub.base_url)

    async def ask() -> tuple[object, str]:
        model = create_chat_model(settings=settings)
        assert create_chat_model(settings=settings) is model  # one per loop, reused within it
        reply = await model.ainvoke(MESSAGES)
        return model, str(reply.content)

    first, first_reply = asyncio.run(ask())
    second, second_reply = asyncio.run(ask())
    assert first is not second
    assert first_reply == second_reply != ""
