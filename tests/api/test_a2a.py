"""The A2A door, driven by the official ``a2a-sdk`` client against a live server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from a2a.client import A2ACardResolver, Client, ClientConfig, create_client
from a2a.helpers.proto_helpers import get_artifact_text
from a2a.types import (
    CancelTaskRequest,
    GetTaskRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskState,
)
from apiharness import BLOCK_TIMEOUT_S, LiveServer
from google.protobuf.struct_pb2 import Struct
from langgraph_sdk import get_client

KEYS = {"key-alice": "alice"}


@pytest.fixture
def a2a_server(make_server: Callable[..., LiveServer]) -> LiveServer:
    """A live server on SQLite with an API key."""
    return make_server(api_keys=KEYS)


@pytest.fixture
async def http(a2a_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that sends alice's key."""
    async with httpx.AsyncClient(headers={"Authorization": "Bearer key-alice"}, timeout=60) as client:
        yield client


async def a2a_client(server: LiveServer, http: httpx.AsyncClient, **config: Any) -> Client:
    """An a2a-sdk client made from the server's agent card."""
    return await create_client(server.url, client_config=ClientConfig(httpx_client=http, **config))


def request(text: str, context_id: str = "", task_id: str = "", **metadata: Any) -> SendMessageRequest:
    """A user message (in a context when ``context_id``) with request ``metadata``."""
    message = Message(
        message_id=str(uuid.uuid4()), role=Role.ROLE_USER, parts=[Part(text=text)], context_id=context_id
    )
    if task_id:
        message.task_id = task_id
    extra = Struct()
    extra.update(metadata)
    return SendMessageRequest(message=message, metadata=extra)


async def send(client: Client, req: SendMessageRequest) -> list[StreamResponse]:
    """Every response of one send."""
    return [response async for response in client.send_message(req)]


def answer(task: Task) -> str:
    """The task's answer artifact."""
    return get_artifact_text(task.artifacts[0])


async def test_agent_card(a2a_server: LiveServer, http: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient() as anonymous:  # the card is public
        card = await A2ACardResolver(anonymous, a2a_server.url).get_agent_card()
    assert card.name == "agent" and card.description and card.capabilities.streaming
    assert {"conversation", "calculator"} <= {skill.id for skill in card.skills}
    assert card.supported_interfaces[0].url == f"{a2a_server.url}/a2a"
    assert card.security_schemes["bearer"].http_auth_security_scheme.scheme == "bearer"
    async with httpx.AsyncClient() as anonymous:
        client = await create_client(
            card, client_config=ClientConfig(httpx_client=anonymous, streaming=False)
        )
        with pytest.raises(Exception, match="401"):
            await send(client, request("hi"))


async def test_send_and_a_multi_turn_context(a2a_server: LiveServer, http: httpx.AsyncClient) -> None:
    client = await a2a_client(a2a_server, http, streaming=False)
    [first] = await send(client, request("My name is Ada"))
    task = first.task
    assert task.status.state == TaskState.TASK_STATE_COMPLETED and "My name is Ada" in answer(task)
    [second] = await send(client, request("What is my name?", task.context_id))
    assert second.task.context_id == task.context_id and second.task.id != task.id
    assert answer(second.task) == "Your name is Ada."
    again = await client.get_task(GetTaskRequest(id=task.id))
    assert again.status.state == TaskState.TASK_STATE_COMPLETED and "My name is Ada" in answer(again)
    # The context is a thread: read it over the Agent Server protocol.
    sdk = get_client(url=a2a_server.url, api_key="key-alice")
    state = await sdk.threads.get_state(task.context_id)
    assert [m["content"] for m in state["values"]["messages"]][-1] == "Your name is Ada."
    runs = await sdk.runs.list(task.context_id)
    assert {r["run_id"] for r in runs} == {task.id, second.task.id}


async def test_streamed_task(a2a_server: LiveServer, http: httpx.AsyncClient) -> None:
    client = await a2a_client(a2a_server, http)
    events = await send(client, request("hello there"))
    assert events[0].HasField("task")
    chunks = [e.artifact_update for e in events if e.HasField("artifact_update")]
    text = "".join(get_artifact_text(c.artifact) for c in chunks)
    assert len(chunks) > 2 and text.startswith("You said") and chunks[-1].last_chunk
    assert events[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED
    done = await client.get_task(GetTaskRequest(id=events[0].task.id))
    assert answer(done) == text


async def test_an_interrupt_is_input_required_and_the_next_message_answers_it(
    a2a_server: LiveServer, http: httpx.AsyncClient
) -> None:
    client = await a2a_client(a2a_server, http, streaming=False)
    [paused] = await send(client, request("what is 6*7?", context={"require_plan_approval": True}))
    task = paused.task
    assert task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    assert "Approve this plan?" in task.status.message.parts[0].text
    sdk = get_client(url=a2a_server.url, api_key="key-alice")
    assert (await sdk.threads.get(task.context_id))["status"] == "interrupted"
    [resumed] = await send(client, request("approve", task_id=task.id))  # the task names its context
    assert resumed.task.status.state == TaskState.TASK_STATE_COMPLETED and "42" in answer(resumed.task)
    assert (await sdk.threads.get(task.context_id))["status"] == "idle"


async def test_cancel_a_running_task(a2a_server: LiveServer, http: httpx.AsyncClient) -> None:
    client = await a2a_client(a2a_server, http, streaming=False, polling=True)
    [started] = await send(client, request("BLOCK here"))
    assert started.task.status.state in (TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING)
    assert await asyncio.to_thread(a2a_server.model.entered.wait, BLOCK_TIMEOUT_S)
    cancelled = await client.cancel_task(CancelTaskRequest(id=started.task.id))
    assert cancelled.status.state == TaskState.TASK_STATE_CANCELED
    a2a_server.model.release()
    client = await a2a_client(a2a_server, http, streaming=False)
    [last] = await send(client, request("hello at last", started.task.context_id))
    assert last.task.status.state == TaskState.TASK_STATE_COMPLETED
    assert (
        await client.get_task(GetTaskRequest(id=started.task.id))
    ).status.state == TaskState.TASK_STATE_CANCELED


async def test_v0_3_method_names(a2a_server: LiveServer, http: httpx.AsyncClient) -> None:
    card = await A2ACardResolver(http, a2a_server.url).get_agent_card()
    assert [i.protocol_version for i in card.supported_interfaces] == ["1.0", "0.3"]
    del card.supported_interfaces[0]  # a client that speaks only v0.3 (message/send, tasks/get, ...)
    client = await create_client(card, client_config=ClientConfig(httpx_client=http, streaming=False))
    [first] = await send(client, request("My name is Ada"))
    [second] = await send(client, request("What is my name?", first.task.context_id))
    assert answer(second.task) == "Your name is Ada."
    again = await client.get_task(GetTaskRequest(id=second.task.id))
    assert again.status.state == TaskState.TASK_STATE_COMPLETED


async def test_subscribe_to_a_running_task(a2a_server: LiveServer, http: httpx.AsyncClient) -> None:
    poller = await a2a_client(a2a_server, http, streaming=False, polling=True)
    [started] = await send(poller, request("BLOCK here"))
    assert await asyncio.to_thread(a2a_server.model.entered.wait, BLOCK_TIMEOUT_S)
    client = await a2a_client(a2a_server, http)
    stream = client.subscribe(SubscribeToTaskRequest(id=started.task.id))
    first = await anext(stream)  # while the run still waits
    assert first.task.id == started.task.id
    assert first.task.status.state == TaskState.TASK_STATE_WORKING
    a2a_server.model.release()
    events = [e async for e in stream]
    assert events[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED
