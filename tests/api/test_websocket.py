"""The WebSocket door, driven by the ``websockets`` client against a live server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from apiharness import BLOCK_TIMEOUT_S, LiveServer
from langgraph_sdk import get_client
from support.messages import say
from support.polling import until
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

KEYS = {"key-alice": "alice", "key-bob": "bob"}
ALICE = {"x-api-key": "key-alice"}


def ws_url(server: LiveServer, thread_id: str) -> str:
    """The thread's WebSocket URL."""
    return f"{server.url.replace('http', 'ws', 1)}/threads/{thread_id}/ws"


async def events_until_done(ws: ClientConnection) -> list[dict[str, Any]]:
    """Messages up to the run's ``end`` or ``error``."""
    seen = []
    while True:
        message = json.loads(await ws.recv())
        seen.append(message)
        if message["event"] in ("end", "error"):
            return seen


async def next_event(ws: ClientConnection, event: str) -> dict[str, Any]:
    """The next message of kind ``event`` (run events before it are skipped)."""
    while True:
        message = json.loads(await ws.recv())
        if message["event"] == event:
            return message


def last_values(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The last ``values`` event's data."""
    return [e["data"] for e in events if e["event"] == "values"][-1]


@pytest.fixture
def keyed_server(make_server: Callable[..., LiveServer]) -> LiveServer:
    """A live server on SQLite with API keys for alice and bob."""
    return make_server(api_keys=KEYS)


async def test_two_runs_on_one_socket_then_a_resume(keyed_server: LiveServer) -> None:
    sdk = get_client(url=keyed_server.url, api_key="key-alice")
    thread_id = (await sdk.threads.create())["thread_id"]
    async with connect(ws_url(keyed_server, thread_id), additional_headers=ALICE) as ws:
        await ws.send(json.dumps({"type": "run", "input": say("My name is Ada")}))
        first = await events_until_done(ws)
        assert first[0]["event"] == "metadata" and first[-1]["event"] == "end"
        run_id = first[0]["data"]["run_id"]
        assert {e["run_id"] for e in first} == {run_id}
        modes = {"stream_mode": ["messages-tuple", "values"]}
        await ws.send(json.dumps({"type": "run", "input": say("What is my name?"), **modes}))
        second = await events_until_done(ws)
        assert second[-1]["event"] == "end" and any(e["event"] == "messages" for e in second)
        assert last_values(second)["messages"][-1]["content"] == "Your name is Ada."
        approval = {"require_plan_approval": True}
        await ws.send(json.dumps({"input": say("what is 6*7?"), "context": approval}))
        paused = await events_until_done(ws)
        assert "__interrupt__" in last_values(paused)
        await ws.send(json.dumps({"type": "resume", "resume": "approve"}))
        resumed = await events_until_done(ws)
        assert "42" in last_values(resumed)["messages"][-1]["content"]
        await ws.send(json.dumps({"type": "resume", "resume": "approve"}))  # nothing left to resume
        refused = json.loads(await ws.recv())
        assert refused["event"] == "error" and "no pending interrupt" in refused["data"]["message"]
    state = await sdk.threads.get_state(thread_id)
    humans = [m["content"] for m in state["values"]["messages"] if m["type"] == "human"]
    assert humans == ["My name is Ada", "What is my name?", "what is 6*7?"]
    assert len(await sdk.runs.list(thread_id)) == 4  # the refused resume made no run


async def test_disconnect_cancels_only_runs_that_ask_for_it(keyed_server: LiveServer) -> None:
    sdk = get_client(url=keyed_server.url, api_key="key-alice")
    thread_id = (await sdk.threads.create())["thread_id"]
    async with connect(ws_url(keyed_server, thread_id), additional_headers=ALICE) as ws:
        await ws.send(json.dumps({"input": say("BLOCK here"), "on_disconnect": "cancel"}))
        blocked = json.loads(await ws.recv())["run_id"]
        assert await asyncio.to_thread(keyed_server.model.entered.wait, BLOCK_TIMEOUT_S)
        await ws.send(json.dumps({"input": say("and then this")}))  # queued behind, continues

    async def cancelled() -> bool:
        return (await sdk.runs.get(thread_id, blocked))["status"] == "interrupted"

    # The model stays blocked until the closed socket has cancelled the run that asked for it.
    await until(cancelled, "the disconnect to cancel the blocked run")
    keyed_server.model.release()

    async def settled() -> bool:
        runs = await sdk.runs.list(thread_id)
        return len(runs) == 2 and all(r["status"] not in ("pending", "running") for r in runs)

    await until(settled, "both runs to finish")
    statuses = {r["run_id"]: r["status"] for r in await sdk.runs.list(thread_id)}
    assert statuses.pop(blocked) == "interrupted" and list(statuses.values()) == ["success"]


async def test_cancel_command_and_handshake_auth(keyed_server: LiveServer) -> None:
    sdk = get_client(url=keyed_server.url, api_key="key-alice")
    thread_id = (await sdk.threads.create())["thread_id"]
    with pytest.raises(InvalidStatus) as anonymous:
        async with connect(ws_url(keyed_server, thread_id)):
            pass
    assert anonymous.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as other_owner:
        async with connect(ws_url(keyed_server, thread_id), additional_headers={"x-api-key": "key-bob"}):
            pass
    assert other_owner.value.response.status_code == 404
    async with connect(ws_url(keyed_server, thread_id), additional_headers=ALICE) as ws:
        await ws.send(json.dumps({"input": say("BLOCK here")}))
        run_id = json.loads(await ws.recv())["run_id"]
        assert await asyncio.to_thread(keyed_server.model.entered.wait, BLOCK_TIMEOUT_S)
        await ws.send(json.dumps({"type": "cancel"}))
        ack = await next_event(ws, "cancel")
        assert ack["data"]["cancelled"] == [run_id]
        await ws.send(json.dumps({"type": "run", "stream_mode": "nope"}))
        bad = await next_event(ws, "error")
        assert bad["run_id"] is None and "stream_mode" in bad["data"]["message"]

    async def interrupted() -> bool:
        return (await sdk.runs.get(thread_id, run_id))["status"] == "interrupted"

    await until(interrupted, "the cancelled run to be interrupted")
