"""A busy thread: the four multitask strategies, cancel, on_disconnect and the global run cap."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from apiharness import AGENT, LiveServer, block_run
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import ConflictError, NotFoundError
from support.messages import contents, say
from support.polling import until


async def wait_status(client: LangGraphClient, tid: str, run_id: str, status: str) -> None:
    """Poll a run until it has ``status`` (bounded)."""

    async def reached() -> bool:
        return (await client.runs.get(tid, run_id))["status"] == status

    await until(reached, f"run {run_id} to become {status}", interval_s=0.025)


async def test_reject_answers_409_while_busy(
    sqlite_server: LiveServer, sqlite_client: LangGraphClient
) -> None:
    tid = (await sqlite_client.threads.create())["thread_id"]
    first = await block_run(sqlite_client, sqlite_server, tid)
    assert (await sqlite_client.threads.get(tid))["status"] == "busy"
    with pytest.raises(ConflictError, match="already running"):
        await sqlite_client.runs.create(tid, AGENT, input=say("hi"), multitask_strategy="reject")
    sqlite_server.model.release()
    await sqlite_client.runs.join(tid, first["run_id"])
    assert (await sqlite_client.runs.get(tid, first["run_id"]))["status"] == "success"
    assert (await sqlite_client.threads.get(tid))["status"] == "idle"


async def test_enqueue_runs_in_arrival_order(
    sqlite_server: LiveServer, sqlite_client: LangGraphClient
) -> None:
    tid = (await sqlite_client.threads.create())["thread_id"]
    first = await block_run(sqlite_client, sqlite_server, tid)
    second = await sqlite_client.runs.create(tid, AGENT, input=say("My name is Zed"))
    third = await sqlite_client.runs.create(
        tid, AGENT, input=say("What is my name?"), multitask_strategy="enqueue"
    )
    assert (await sqlite_client.runs.get(tid, second["run_id"]))["status"] == "pending"
    sqlite_server.model.release()
    final = await sqlite_client.runs.join(tid, third["run_id"])
    texts = contents(final)
    assert texts[0] == "BLOCK here" and texts[2] == "My name is Zed" and texts[-1] == "Your name is Zed."
    for run in (first, second, third):
        assert (await sqlite_client.runs.get(tid, run["run_id"]))["status"] == "success"


async def test_interrupt_stops_the_running_run_and_keeps_its_checkpoints(
    sqlite_server: LiveServer, sqlite_client: LangGraphClient
) -> None:
    tid = (await sqlite_client.threads.create())["thread_id"]
    first = await block_run(sqlite_client, sqlite_server, tid)
    result = await sqlite_client.runs.wait(tid, AGENT, input=say("hello"), multitask_strategy="interrupt")
    assert contents(result)[0] == "BLOCK here" and contents(result)[1] == "hello"
    assert (await sqlite_client.runs.get(tid, first["run_id"]))["status"] == "interrupted"
    assert (await sqlite_client.threads.get(tid))["status"] == "idle"


async def test_rollback_stops_the_running_run_and_removes_its_writes(
    sqlite_server: LiveServer, sqlite_client: LangGraphClient
) -> None:
    tid = (await sqlite_client.threads.create())["thread_id"]
    await sqlite_client.runs.wait(tid, AGENT, input=say("My name is Ada"))
    first = await block_run(sqlite_client, sqlite_server, tid)
    result = await sqlite_client.runs.wait(
        tid, AGENT, input=say("What is my name?"), multitask_strategy="rollback"
    )
    assert contents(result) == [
        "My name is Ada",
        contents(result)[1],
        "What is my name?",
        "Your name is Ada.",
    ]
    with pytest.raises(NotFoundError):
        await sqlite_client.runs.get(tid, first["run_id"])


async def test_cancel_interrupt_and_rollback(
    sqlite_server: LiveServer, sqlite_client: LangGraphClient
) -> None:
    tid = (await sqlite_client.threads.create())["thread_id"]
    first = await block_run(sqlite_client, sqlite_server, tid)
    pending = await sqlite_client.runs.create(tid, AGENT, input=say("queued"))
    await sqlite_client.runs.cancel(tid, pending["run_id"])
    assert (await sqlite_client.runs.get(tid, pending["run_id"]))["status"] == "interrupted"
    await sqlite_client.runs.cancel(tid, first["run_id"], wait=True)
    assert (await sqlite_client.runs.get(tid, first["run_id"]))["status"] == "interrupted"
    assert (await sqlite_client.threads.get(tid))["status"] in ("idle", "interrupted")
    with pytest.raises(NotFoundError):
        await sqlite_client.runs.cancel(tid, first["run_id"])
    second = await block_run(sqlite_client, sqlite_server, tid)
    await sqlite_client.runs.cancel(tid, second["run_id"], wait=True, action="rollback")
    state = await sqlite_client.threads.get_state(tid)
    assert "BLOCK here" in contents(state["values"]) and contents(state["values"]).count("BLOCK here") == 1
    sqlite_server.model.release()
    assert contents(await sqlite_client.runs.wait(tid, AGENT, input=say("hi")))[-2] == "hi"


async def test_on_disconnect_cancel_stops_the_run(
    sqlite_server: LiveServer, sqlite_client: LangGraphClient
) -> None:
    tid = (await sqlite_client.threads.create())["thread_id"]
    own = get_client(url=sqlite_server.url)
    stream = own.runs.stream(tid, AGENT, input=say("BLOCK now"), on_disconnect="cancel")
    first = await anext(stream)
    run_id = first.data["run_id"]
    assert await asyncio.to_thread(sqlite_server.model.entered.wait, 15)
    await stream.aclose()
    await own.aclose()
    await wait_status(sqlite_client, tid, run_id, "interrupted")


async def test_on_disconnect_continue_lets_the_run_finish(
    sqlite_server: LiveServer, sqlite_client: LangGraphClient
) -> None:
    tid = (await sqlite_client.threads.create())["thread_id"]
    own = get_client(url=sqlite_server.url)
    stream = own.runs.stream(tid, AGENT, input=say("BLOCK now"), on_disconnect="continue")
    run_id = (await anext(stream)).data["run_id"]
    assert await asyncio.to_thread(sqlite_server.model.entered.wait, 15)
    await stream.aclose()
    await own.aclose()
    sqlite_server.model.release()
    await sqlite_client.runs.join(tid, run_id)
    assert (await sqlite_client.runs.get(tid, run_id))["status"] == "success"


async def test_join_stream_of_a_running_run(
    sqlite_server: LiveServer, sqlite_client: LangGraphClient
) -> None:
    tid = (await sqlite_client.threads.create())["thread_id"]
    run = await block_run(sqlite_client, sqlite_server, tid, stream_mode=["updates"], stream_resumable=True)
    joined = sqlite_client.runs.join_stream(tid, run["run_id"], last_event_id="0")
    first = await anext(joined)
    assert first.event == "metadata" and first.data["run_id"] == run["run_id"] and first.id == "1"
    sqlite_server.model.release()
    events = [p.event async for p in joined]
    assert "updates" in events and events[-1] == "end"


async def test_global_cap_answers_503_with_retry_after(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(max_concurrent_runs=1, max_queued_runs=0)
    async with httpx.AsyncClient(base_url=server.url) as http:
        sdk = get_client(url=server.url)
        tid = (await sdk.threads.create())["thread_id"]
        await block_run(sdk, server, tid)
        other = (await sdk.threads.create())["thread_id"]
        response = await http.post(f"/threads/{other}/runs", json={"assistant_id": AGENT, "input": say("hi")})
        assert response.status_code == 503 and response.headers["retry-after"]
        assert "retry" in response.json()["detail"]
        server.model.release()
        await sdk.aclose()
