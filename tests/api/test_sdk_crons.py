"""Every method of langgraph-sdk's crons client, and crons firing (an injected clock moves time;
the scheduler ticks fast), surviving a restart and firing once with two replicas."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from apiharness import AGENT, FakeClock, LiveServer
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError
from support.messages import say
from support.polling import until

FAST_TICK = {"cron_tick_s": 0.02}


async def test_create_search_count_update_delete(client: LangGraphClient) -> None:
    tid = (await client.threads.create())["thread_id"]
    on_thread = await client.crons.create_for_thread(
        tid, AGENT, schedule="*/5 * * * *", input=say("tick"), metadata={"kind": "thread"}
    )
    assert on_thread["thread_id"] == tid and on_thread["next_run_date"] and on_thread["enabled"]
    stateless = await client.crons.create(
        AGENT, schedule="0 9 * * 1", timezone="Europe/Paris", input=say("hi")
    )
    assert stateless["thread_id"] is None and stateless["on_run_completed"] == "delete"
    assert stateless["next_run_date"].endswith("+00:00")

    assert {c["cron_id"] for c in await client.crons.search()} == {on_thread["cron_id"], stateless["cron_id"]}
    assert [c["cron_id"] for c in await client.crons.search(thread_id=tid)] == [on_thread["cron_id"]]
    assert await client.crons.count(assistant_id=AGENT) == 2
    assert await client.crons.count(metadata={"kind": "thread"}) == 1

    updated = await client.crons.update(on_thread["cron_id"], schedule="*/10 * * * *", enabled=False)
    assert (updated["schedule"], updated["enabled"]) == ("*/10 * * * *", False)
    assert [c["cron_id"] for c in await client.crons.search(enabled=False)] == [on_thread["cron_id"]]

    await client.crons.delete(on_thread["cron_id"])
    with pytest.raises(NotFoundError):
        await client.crons.delete(on_thread["cron_id"])
    assert await client.crons.count() == 1


async def test_a_bad_schedule_is_422(client: LangGraphClient) -> None:
    with pytest.raises(Exception) as bad:
        await client.crons.create(AGENT, schedule="every tuesday")
    assert bad.value.response.status_code == 422 and "schedule" in bad.value.response.json()["detail"]


async def test_a_thread_cron_fires_and_survives_a_restart(
    make_server: Callable[..., LiveServer], durable_url: str
) -> None:
    clock = FakeClock()
    server = make_server(durable_url, clock=clock, **FAST_TICK)
    async with get_client(url=server.url) as sdk:
        tid = (await sdk.threads.create())["thread_id"]
        cron = await sdk.crons.create_for_thread(tid, AGENT, schedule="*/5 * * * *", input=say("ping"))
        clock.advance(6 * 60)

        async def runs_done(count: int) -> bool:
            runs = await sdk.runs.list(tid)
            return len(runs) == count and all(r["status"] == "success" for r in runs)

        await until(lambda: runs_done(1), "the cron's first run")
        assert (await sdk.runs.list(tid))[0]["metadata"]["cron_id"] == cron["cron_id"]
    server.stop()

    restarted = make_server(durable_url, clock=clock, **FAST_TICK)
    async with get_client(url=restarted.url) as sdk:
        clock.advance(5 * 60)

        async def pinged_twice() -> bool:
            thread = await sdk.threads.get(tid)
            humans = [m for m in (thread["values"] or {}).get("messages", []) if m["type"] == "human"]
            return len(humans) == 2 and thread["status"] == "idle"

        await until(pinged_twice, "the cron's run after the restart")


async def test_two_replicas_fire_each_tick_once(
    make_server: Callable[..., LiveServer], redis_flushed_url: str
) -> None:
    clock = FakeClock()
    first = make_server(redis_flushed_url, clock=clock, **FAST_TICK)
    make_server(redis_flushed_url, clock=clock, **FAST_TICK)
    async with get_client(url=first.url) as sdk:
        cron = await sdk.crons.create(AGENT, schedule="*/5 * * * *", input=say("hi"), on_run_completed="keep")
        clock.advance(6 * 60)

        async def fired() -> bool:
            return await sdk.threads.count(metadata={"graph_id": AGENT}) >= 1

        await until(fired, "the cron's run")
        seen = clock.calls
        await until(lambda: _after(clock, seen + 10), "both replicas to tick again")
        assert await sdk.threads.count() == 1
        assert (await sdk.crons.search())[0]["next_run_date"] > cron["next_run_date"]


async def _after(clock: FakeClock, calls: int) -> bool:
    return clock.calls >= calls
