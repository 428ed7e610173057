"""Overload: the run cap holds when runs arrive together, a slow stream reader is dropped
instead of buffered without bound, and many clients at once lose no acknowledged turn."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
from apiharness import AGENT, LiveServer
from langgraph_sdk import get_client
from support.messages import contents, say

from sessiongraph.api.coordination.memory import MemoryStreamBroker

CONCURRENT, QUEUED = 2, 3
ARRIVALS = 40
CLIENTS, TURNS = 50, 20


async def test_runs_arriving_together_never_exceed_the_cap(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(max_concurrent_runs=CONCURRENT, max_queued_runs=QUEUED)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        threads = [(await http.post("/threads", json={})).json()["thread_id"] for _ in range(ARRIVALS)]
        body = {"assistant_id": AGENT, "input": say("BLOCK here")}
        answers = await asyncio.gather(*(http.post(f"/threads/{t}/runs", json=body) for t in threads))
        statuses = sorted(a.status_code for a in answers)
        assert statuses.count(200) == CONCURRENT + QUEUED, statuses
        assert statuses.count(503) == ARRIVALS - CONCURRENT - QUEUED, statuses
        assert all(a.headers["retry-after"] for a in answers if a.status_code == 503)
        server.model.release()


async def test_a_slow_reader_is_dropped_not_buffered_without_bound() -> None:
    broker = MemoryStreamBroker(heartbeat=5.0, replay=100, queue=10)
    await broker.open("run")
    slow = await broker.subscribe("run", 0)
    for i in range(1000):  # the reader reads nothing meanwhile
        await broker.publish("run", "values", str(i).encode())
    await broker.close("run")
    received = [item async for item in slow if item is not None]
    assert len(received) <= 11
    assert received[-1].event == "error" and b"SlowConsumer" in received[-1].data


async def test_fifty_clients_at_once_lose_no_acknowledged_turn(
    make_server: Callable[..., LiveServer],
) -> None:
    server = make_server(max_concurrent_runs=16, max_queued_runs=64)
    sdk = get_client(url=server.url, api_key=None)
    acked: dict[str, list[str]] = {}

    async def conversation(n: int) -> None:
        thread_id = (await sdk.threads.create())["thread_id"]
        acked[thread_id] = []
        for turn in range(TURNS):
            text = f"client {n} turn {turn}"
            result = await sdk.runs.wait(thread_id, AGENT, input=say(text))
            assert text in contents(result)
            acked[thread_id].append(text)

    await asyncio.gather(*(conversation(n) for n in range(CLIENTS)))
    for thread_id, texts in acked.items():
        values = (await sdk.threads.get_state(thread_id))["values"]
        said = [m["content"] for m in values["messages"] if m["type"] == "human"]
        assert said == texts
        assert (await sdk.threads.get(thread_id))["status"] == "idle"
    await sdk.aclose()
