"""``kill -9`` at random points of busy traffic, then a restart on the same data (SQLite, Redis).

A real ``sessiongraph serve`` process, four threads driven by the official client with a slowed
model so that turns are in flight when the process dies. After each restart: no thread stays
``busy`` and no run ``pending``/``running`` (interrupted runs end as ``error``), no thread ends
mid-turn (partial turns are rolled back), every acknowledged turn is in its thread's history in
order, run records survived, and the next turn works. And with two replicas on one Redis, the
live one reclaims a killed one's run once its lease lapses.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

from apiharness import LiveServer
from langgraph_sdk import get_client
from support.crash import (
    AGENT,
    Damage,
    Ledger,
    ServeProcess,
    busy_clients,
    client,
    inspect,
    new_threads,
    next_turn_works,
    turn_text,
    wait_settled,
)
from support.messages import say
from support.openai_stub import OpenAIStubServer
from support.polling import until

ROUNDS = 3
THREADS = 4
SLOW_S = 0.03
LEASE_S = 1.0
SETTLE_TIMEOUT_S = 30.0


def test_kill_9_mid_turn_loses_nothing_and_leaves_nothing_stuck(
    durable_url: str, openai_stub: OpenAIStubServer, tmp_path: Path
) -> None:
    rng = random.Random(9)
    server = ServeProcess(durable_url, openai_stub.base_url, tmp_path, {"WORKER_LEASE_S": str(LEASE_S)})
    ledger = Ledger()
    with server.running():
        threads = new_threads(server.url, THREADS)
    for _ in range(ROUNDS):
        with server.running() as proc:
            assert wait_settled(server.url, threads, SETTLE_TIMEOUT_S), "recovery left threads stuck"
            halt = threading.Event()
            workers = busy_clients(server.url, threads, ledger, halt, slow_s=SLOW_S)
            time.sleep(rng.uniform(0.5, 2.0))  # the random moment of the crash, not a synchronisation
            ServeProcess.kill9(proc)
            halt.set()
            for worker in workers:
                worker.join(timeout=60)
    with server.running():
        assert wait_settled(server.url, threads, SETTLE_TIMEOUT_S), "recovery left threads stuck"
        assert inspect(server.url, threads, ledger) == Damage()
        runs = [r for t in threads for r in client(server.url).runs.list(t, limit=100)]
        assert len(runs) >= sum(len(v) for v in ledger.acked.values()), "run records did not survive"
        assert all(next_turn_works(server.url, t) for t in threads)
    assert sum(len(v) for v in ledger.acked.values()) >= THREADS, "the clients got too few turns through"


async def test_a_live_replica_reclaims_the_runs_of_a_dead_one(
    redis_flushed_url: str,
    openai_stub: OpenAIStubServer,
    make_server: Callable[..., LiveServer],
    tmp_path: Path,
) -> None:
    """Two replicas on one Redis; one is killed mid-run. Once its lease lapses, the other ends
    the run as ``error`` and rolls its thread back, without any restart."""
    dead = ServeProcess(redis_flushed_url, openai_stub.base_url, tmp_path, {"WORKER_LEASE_S": str(LEASE_S)})
    live = make_server(redis_flushed_url, worker_lease_s=LEASE_S)
    sdk = get_client(url=live.url, api_key=None)
    with dead.running() as proc:
        thread_id = new_threads(dead.url, 1)[0]
        assert await asyncio.to_thread(next_turn_works, dead.url, thread_id)
        before = (await sdk.threads.get_state(thread_id))["values"]["messages"]
        slow = turn_text(thread_id, 5.0)  # still thinking when the replica dies
        run = await asyncio.to_thread(client(dead.url).runs.create, thread_id, AGENT, input=say(slow))

        async def running() -> bool:
            return (await sdk.runs.get(thread_id, run["run_id"]))["status"] == "running"

        await until(running, "the run to start on the doomed replica")
        ServeProcess.kill9(proc)

    async def reclaimed() -> bool:
        stored = await sdk.runs.get(thread_id, run["run_id"])
        return stored["status"] == "error" and (await sdk.threads.get(thread_id))["status"] != "busy"

    await until(reclaimed, "the live replica to reclaim the run", timeout_s=SETTLE_TIMEOUT_S, interval_s=0.1)
    assert (await sdk.threads.get_state(thread_id))["values"]["messages"] == before
    result = await sdk.runs.wait(thread_id, AGENT, input=say("What is my name?"))
    assert result["messages"][-1]["type"] == "ai"
    await sdk.aclose()
