"""``kill -9`` at random points of busy traffic, then a restart on the same data (SQLite, Redis).

A real ``sessiongraph serve`` process, four threads driven by the official client with a slowed
model so that turns are in flight when the process dies. After each restart: no thread stays
``busy`` and no run ``pending``/``running`` (interrupted runs end as ``error``), no thread ends
mid-turn (partial turns are rolled back), every acknowledged turn is in its thread's history in
order, run records survived, and the next turn works.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

from support.crash import (
    Damage,
    Ledger,
    ServeProcess,
    busy_clients,
    client,
    inspect,
    new_threads,
    next_turn_works,
    wait_settled,
)
from support.openai_stub import OpenAIStubServer

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
