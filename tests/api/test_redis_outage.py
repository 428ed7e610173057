"""Redis goes away under a live server and comes back (the harness's real server, stopped and
started again on the same port with persistence on).

While it is down: ``/ok`` answers, ``/ready`` and every request that needs Redis answer 503 with
``Retry-After`` and a detail naming Redis, quickly (no hang, no 500); the run in flight fails.
When it is back, without a restart: ``/ready`` recovers, the failed run is recorded as ``error``
and its partial turn rolled back, the thread is not stuck, and the next turn works.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import httpx
import pytest
from apiharness import AGENT, LiveServer, block_run
from langgraph_sdk import get_client
from support.messages import contents, say
from support.polling import until
from support.redis_server import RedisServer, RedisUnavailable
from support.started import started

from sessiongraph.checkpoints.redis.client import SOCKET_TIMEOUT_S

LEASE_S = 1.0
RECOVERY_TIMEOUT_S = 30.0


@pytest.fixture
def persistent_redis() -> Iterator[RedisServer]:
    """A Redis of this test alone, with an append-only file, so that it can be restarted."""
    with started(RedisServer(persistent=True), "Redis", RedisUnavailable) as server:
        yield server


def _names_redis(response: httpx.Response) -> bool:
    return (
        response.status_code == 503
        and "Redis" in response.json()["detail"]
        and int(response.headers["retry-after"]) > 0
    )


async def test_redis_outage_fails_fast_and_recovers_without_restart(
    make_server: Callable[..., LiveServer], persistent_redis: RedisServer
) -> None:
    live = make_server(persistent_redis.url, worker_lease_s=LEASE_S)
    async with (
        get_client(url=live.url, api_key=None) as client,
        httpx.AsyncClient(base_url=live.url, timeout=20) as http,
    ):
        thread_id = (await client.threads.create())["thread_id"]
        await client.runs.wait(thread_id, AGENT, input=say("My name is Ada"))
        before = contents((await client.threads.get_state(thread_id))["values"])
        in_flight = await block_run(client, live, thread_id)

        with persistent_redis.outage():
            assert (await http.get("/ok")).status_code == 200
            ready = await http.get("/ready")
            assert ready.status_code == 503 and "Redis" in ready.json()["detail"]
            assert _names_redis(await http.get(f"/threads/{thread_id}"))
            assert _names_redis(await http.post("/threads", json={}))
            body = {"assistant_id": AGENT, "input": say("hello")}
            assert _names_redis(await http.post(f"/threads/{thread_id}/runs/wait", json=body))
            live.model.release()  # the run in flight goes on, and cannot write
            manager = live.server.config.app.state.services.manager

            async def run_gave_up() -> bool:
                return manager.in_flight == 0

            await until(run_gave_up, "the run in flight to fail", timeout_s=RECOVERY_TIMEOUT_S)

        async def ready_again() -> bool:
            return (await http.get("/ready")).status_code == 200

        await until(ready_again, "/ready to recover", timeout_s=RECOVERY_TIMEOUT_S, interval_s=0.1)

        async def settled() -> bool:
            run = await client.runs.get(thread_id, in_flight["run_id"])
            thread = await client.threads.get(thread_id)
            return run["status"] not in ("pending", "running") and thread["status"] != "busy"

        await until(settled, "the failed run to be recovered", timeout_s=RECOVERY_TIMEOUT_S, interval_s=0.1)
        assert (await client.runs.get(thread_id, in_flight["run_id"]))["status"] == "error"
        assert contents((await client.threads.get_state(thread_id))["values"]) == before
        result = await client.runs.wait(thread_id, AGENT, input=say("What is my name?"))
        assert contents(result)[-1] == "Your name is Ada."


async def test_waits_longer_than_the_socket_timeout_are_fine(
    make_server: Callable[..., LiveServer], redis_flushed_url: str
) -> None:
    """A run silent for longer than the Redis client's socket timeout, and a run waiting that
    long for its thread, both finish normally: every Redis wait is a loop of short ones."""
    live = make_server(redis_flushed_url, heartbeat_s=SOCKET_TIMEOUT_S + 2)
    async with get_client(url=live.url, api_key=None) as client:
        thread_id = (await client.threads.create())["thread_id"]
        silent = await block_run(client, live, thread_id)
        queued = asyncio.create_task(client.runs.wait(thread_id, AGENT, input=say("My name is Ada")))
        await asyncio.sleep(SOCKET_TIMEOUT_S + 1)  # the silence under test, not a synchronisation
        live.model.release()
        said = contents(await queued)
        assert said[0] == "BLOCK here" and "My name is Ada" in said and "Ada" in said[-1]
        assert (await client.runs.get(thread_id, silent["run_id"]))["status"] == "success"
