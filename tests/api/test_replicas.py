"""Two API replicas sharing sessions and coordinating runs: sessions and coordination in one
Redis, sessions in Postgres coordinated through Redis, or both in Postgres alone. A thread runs
once at a time across them, and either replica can see, join, cancel and queue behind a run
executing on the other."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis
from apiharness import AGENT, LiveServer, block_run
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import ConflictError
from support.messages import contents, say
from support.polling import until

from sessiongraph.api.coordination.factory import coordination_url
from sessiongraph.api.coordination.postgres_listener import PostgresListener
from sessiongraph.api.coordination.postgres_lock import PostgresThreadLock
from sessiongraph.api.coordination.redis_lock import RedisThreadLock
from sessiongraph.checkpoints.postgres.backend import open_pool

SETUPS = {
    # sessions -> coordination
    "redis": ("redis_flushed_url", "redis_flushed_url"),
    "postgres+redis": ("postgres_clean_url", "redis_flushed_url"),
    "postgres": ("postgres_clean_url", None),  # the backend coordinates: Postgres alone
}


@dataclass
class Replica:
    """A live server and an SDK client of it."""

    server: LiveServer
    sdk: LangGraphClient


@pytest.fixture(params=list(SETUPS))
def servers(
    request: pytest.FixtureRequest, make_server: Callable[..., LiveServer]
) -> tuple[LiveServer, LiveServer]:
    """Two live servers on one (emptied) store of sessions, coordinating through one (emptied)
    Redis, or through the Postgres of their sessions."""
    sessions, coordination = SETUPS[request.param]
    url = request.getfixturevalue(sessions)
    shared = request.getfixturevalue(coordination) if coordination else None
    return make_server(url, coordination_url=shared), make_server(url, coordination_url=shared)


@pytest.fixture
async def pair(servers: tuple[LiveServer, LiveServer]) -> AsyncIterator[tuple[Replica, Replica]]:
    """Replicas A and B."""
    a, b = (Replica(s, get_client(url=s.url)) for s in servers)
    yield a, b
    await a.sdk.aclose()
    await b.sdk.aclose()


async def block_on(replica: Replica, tid: str, **kwargs: object) -> dict:
    """Start a background run on ``replica`` that waits inside its model until released."""
    return await block_run(replica.sdk, replica.server, tid, **kwargs)


async def queue_length(server: LiveServer, tid: str, wanted: int) -> None:
    """Poll (bounded) until ``wanted`` runs hold or wait for the thread's lock, read through a
    lock of the kind the servers use."""
    settings = server.settings
    url = coordination_url(settings, settings.checkpoint_url)
    assert url is not None
    async with contextlib.AsyncExitStack() as stack:
        if url.startswith("redis"):
            client = aioredis.Redis.from_url(url)
            stack.push_async_callback(client.aclose)
            lock: RedisThreadLock | PostgresThreadLock = RedisThreadLock(client)
        else:
            pool = await stack.enter_async_context(open_pool(url, 2))
            lock = PostgresThreadLock(pool, PostgresListener(url))

        async def reached() -> bool:
            return await lock.queue_length(tid) == wanted

        await until(reached, f"the lock queue of {tid} to reach {wanted}")


async def test_reject_on_b_while_a_runs(pair: tuple[Replica, Replica]) -> None:
    a, b = pair
    tid = (await a.sdk.threads.create())["thread_id"]
    run = await block_on(a, tid)
    assert (await b.sdk.threads.get(tid))["status"] == "busy"
    with pytest.raises(ConflictError, match="already running"):
        await b.sdk.runs.create(tid, AGENT, input=say("hi"), multitask_strategy="reject")
    a.server.model.release()
    await b.sdk.runs.join(tid, run["run_id"])
    assert (await b.sdk.runs.get(tid, run["run_id"]))["status"] == "success"
    assert (await b.sdk.threads.get(tid))["status"] == "idle"


async def test_b_sees_and_joins_a_run_of_a(pair: tuple[Replica, Replica]) -> None:
    a, b = pair
    tid = (await a.sdk.threads.create())["thread_id"]
    run = await block_on(a, tid, stream_mode=["updates"], stream_resumable=True)
    seen = await b.sdk.runs.get(tid, run["run_id"])
    assert seen["status"] == "running" and seen["thread_id"] == tid
    assert [r["run_id"] for r in await b.sdk.runs.list(tid)] == [run["run_id"]]
    joined = b.sdk.runs.join_stream(tid, run["run_id"], last_event_id="0")
    first = await anext(joined)
    assert first.event == "metadata" and first.data["run_id"] == run["run_id"] and first.id == "1"
    waiter = asyncio.create_task(b.sdk.runs.join(tid, run["run_id"]))
    a.server.model.release()
    parts = [p async for p in joined]
    assert "updates" in [p.event for p in parts] and parts[-1].event == "end"
    assert [int(p.id) for p in parts] == list(range(2, len(parts) + 2))
    assert contents(await waiter)[0] == "BLOCK here"
    assert (await b.sdk.runs.get(tid, run["run_id"]))["status"] == "success"
    # A client that lost the end reconnects to B with the last id it saw: the rest is replayed.
    rest = [p async for p in b.sdk.runs.join_stream(tid, run["run_id"], last_event_id=parts[-2].id)]
    assert [p.event for p in rest] == ["end"]


async def test_cancel_on_b_stops_the_run_on_a(pair: tuple[Replica, Replica]) -> None:
    a, b = pair
    tid = (await a.sdk.threads.create())["thread_id"]
    run = await block_on(a, tid)
    queued = await a.sdk.runs.create(tid, AGENT, input=say("queued"))
    await b.sdk.runs.cancel(tid, queued["run_id"])
    await b.sdk.runs.cancel(tid, run["run_id"], wait=True)
    assert (await b.sdk.runs.get(tid, run["run_id"]))["status"] == "interrupted"
    assert (await a.sdk.runs.get(tid, queued["run_id"]))["status"] == "interrupted"
    result = await b.sdk.runs.wait(tid, AGENT, input=say("hi"))
    texts = contents(result)
    assert texts[0] == "BLOCK here" and texts[-2] == "hi" and texts[-1].startswith("You said: “hi”")
    assert "queued" not in texts
    assert (await a.sdk.threads.get(tid))["status"] == "idle"


async def test_interrupt_strategy_on_b_stops_the_run_on_a(pair: tuple[Replica, Replica]) -> None:
    a, b = pair
    tid = (await a.sdk.threads.create())["thread_id"]
    run = await block_on(a, tid)
    result = await b.sdk.runs.wait(tid, AGENT, input=say("hello"), multitask_strategy="interrupt")
    assert contents(result)[:2] == ["BLOCK here", "hello"]
    assert (await a.sdk.runs.get(tid, run["run_id"]))["status"] == "interrupted"


async def test_enqueue_on_b_runs_after_a_in_arrival_order(pair: tuple[Replica, Replica]) -> None:
    a, b = pair
    tid = (await a.sdk.threads.create())["thread_id"]
    first = await block_on(a, tid)
    second = await b.sdk.runs.create(tid, AGENT, input=say("My name is Zed"), multitask_strategy="enqueue")
    await queue_length(b.server, tid, 2)
    third = await a.sdk.runs.create(tid, AGENT, input=say("What is my name?"), multitask_strategy="enqueue")
    assert (await a.sdk.runs.get(tid, second["run_id"]))["status"] == "pending"
    a.server.model.release()
    final = await b.sdk.runs.join(tid, third["run_id"])
    texts = contents(final)
    assert texts[0] == "BLOCK here" and texts[2] == "My name is Zed" and texts[-1] == "Your name is Zed."
    listed = await b.sdk.runs.list(tid)
    assert [r["run_id"] for r in listed] == [third["run_id"], second["run_id"], first["run_id"]]
    assert {r["status"] for r in listed} == {"success"}
