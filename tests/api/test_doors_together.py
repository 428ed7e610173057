"""One thread through every door, on two replicas sharing Redis: begun over A2A, continued with the
OpenAI SDK and over a WebSocket, read with langgraph-sdk, each on either replica."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import httpx
import openai
from a2a.client import ClientConfig, create_client
from a2a.helpers.proto_helpers import get_artifact_text
from a2a.types import GetTaskRequest, Message, Part, Role, SendMessageRequest, TaskState
from apiharness import LiveServer
from langgraph_sdk import get_client
from support.messages import say
from websockets.asyncio.client import connect


async def test_a_thread_begun_over_a2a_continues_over_every_door(
    make_server: Callable[..., LiveServer], redis_flushed_url: str
) -> None:
    a, b = make_server(redis_flushed_url), make_server(redis_flushed_url)
    async with httpx.AsyncClient(timeout=60) as http:
        agent = await create_client(a.url, client_config=ClientConfig(httpx_client=http, streaming=False))
        message = Message(
            message_id=str(uuid.uuid4()), role=Role.ROLE_USER, parts=[Part(text="My name is Ada")]
        )
        [sent] = [r async for r in agent.send_message(SendMessageRequest(message=message))]
        thread_id, task_id = sent.task.context_id, sent.task.id
        other = await create_client(b.url, client_config=ClientConfig(httpx_client=http, streaming=False))
        task = await other.get_task(GetTaskRequest(id=task_id))  # run records are shared
        assert task.status.state == TaskState.TASK_STATE_COMPLETED
        assert "My name is Ada" in get_artifact_text(task.artifacts[0])

    async with openai.AsyncOpenAI(base_url=f"{b.url}/v1", api_key="unused") as oai:
        reply = await oai.chat.completions.create(
            model="agent",
            messages=[{"role": "user", "content": "What is my name?"}],
            extra_headers={"X-Thread-Id": thread_id},
        )
    assert reply.choices[0].message.content == "Your name is Ada."

    async with connect(f"{a.url.replace('http', 'ws', 1)}/threads/{thread_id}/ws") as ws:
        await ws.send(json.dumps({"input": say("what is 6*7?")}))
        events = []
        while not events or events[-1]["event"] not in ("end", "error"):
            events.append(json.loads(await ws.recv()))
    assert "42" in events[-2]["data"]["messages"][-1]["content"]

    sdk = get_client(url=b.url)
    state = await sdk.threads.get_state(thread_id)
    humans = [m["content"] for m in state["values"]["messages"] if m["type"] == "human"]
    assert humans == ["My name is Ada", "What is my name?", "what is 6*7?"]
    doors = [r["metadata"].get("door") for r in await sdk.runs.list(thread_id)]
    assert doors == [None, "openai.chat", "a2a"]  # newest first; a WebSocket run is a plain run
