"""Crash, outage and load figures of a real ``sessiongraph serve`` process.

Prints three tables (the reliability invariants say every "bad" column must be 0):

- kill -9: per durable backend, ``--kills`` rounds of busy traffic on ``--threads`` threads
  (the OpenAI-compatible stub as model, slowed so turns are in flight), each ended by ``kill -9``
  at a random moment and followed by a restart on the same data: threads corrupted (ending
  mid-turn), stuck (``busy``, or a run left ``pending``/``running``), acknowledged turns lost,
  and runs that recovery ended as ``error``.
- Redis outage: Redis stopped for ``--outage-s`` seconds under traffic, then started again on
  the same port with persistence on: the clients' errors by status, whether the server
  recovered without a restart (``/ready`` back, nothing stuck or lost, the next turn works).
- load: ``--clients`` clients x ``--turns`` turns at once: turns acknowledged, lost, errors.

    python bench/crash.py [--kills 10] [--threads 10] [--outage-s 10] [--clients 50] [--turns 20]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.crash import (  # noqa: E402
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
from support.openai_stub import OpenAIStubServer  # noqa: E402
from support.redis_server import RedisServer  # noqa: E402

SLOW_S = 0.03
LEASE_S = 2.0
SETTLE_TIMEOUT_S = 60.0


def table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    """Print a fixed-width table."""
    widths = [max(len(str(x)) for x in [h, *(r[i] for r in rows)]) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))


def reclaimed_runs(url: str, threads: list[str]) -> int:
    """Runs that ended as ``error`` because their process died or stopped."""
    runs = [r for t in threads for r in client(url).runs.list(t, limit=100, status="error")]
    return len(runs)


def kill_rounds(backend: str, url: str, stub: str, kills: int, threads_n: int, seed: int) -> list[Any]:
    """``kills`` kill -9 rounds on ``url``; one table row."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        server = ServeProcess(url, stub, Path(tmp), {"WORKER_LEASE_S": str(LEASE_S)})
        ledger = Ledger()
        with server.running():
            threads = new_threads(server.url, threads_n)
        stuck_after_restart = 0
        for _ in range(kills):
            with server.running() as proc:
                if not wait_settled(server.url, threads, SETTLE_TIMEOUT_S):
                    stuck_after_restart += 1
                halt = threading.Event()
                workers = busy_clients(server.url, threads, ledger, halt, slow_s=SLOW_S)
                time.sleep(rng.uniform(0.5, 3.0))  # the random moment of the crash
                ServeProcess.kill9(proc)
                halt.set()
                for worker in workers:
                    worker.join(timeout=60)
        with server.running():
            settled = wait_settled(server.url, threads, SETTLE_TIMEOUT_S)
            damage = inspect(server.url, threads, ledger)
            works = all(next_turn_works(server.url, t) for t in threads)
            errors = reclaimed_runs(server.url, threads)
    acked = sum(len(v) for v in ledger.acked.values())
    return [
        backend,
        kills,
        threads_n,
        acked,
        len(damage.corrupted),
        len(damage.stuck) + stuck_after_restart + (0 if settled else 1),
        damage.lost_turns,
        errors,
        "yes" if works else "NO",
    ]


def outage(stub: str, outage_s: float, threads_n: int) -> list[Any]:
    """Stop Redis for ``outage_s`` under traffic; one table row."""
    with RedisServer(persistent=True) as redis, tempfile.TemporaryDirectory() as tmp:
        server = ServeProcess(redis.url, stub, Path(tmp), {"WORKER_LEASE_S": str(LEASE_S)})
        with server.running():
            threads = new_threads(server.url, threads_n)
            ledger = Ledger()
            halt = threading.Event()
            workers = busy_clients(server.url, threads, ledger, halt, slow_s=SLOW_S, stop_on_error=False)
            time.sleep(2.0)  # traffic before the outage
            with redis.outage():
                time.sleep(outage_s / 2)
                ok_during, ready_during = probe(server.url)
                time.sleep(outage_s / 2)
            recovered_s = wait_ready(server.url, SETTLE_TIMEOUT_S)
            time.sleep(2.0)  # traffic after the outage
            halt.set()
            for worker in workers:
                worker.join(timeout=60)
            settled = wait_settled(server.url, threads, SETTLE_TIMEOUT_S)
            damage = inspect(server.url, threads, ledger)
            works = all(next_turn_works(server.url, t) for t in threads)
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(ledger.errors.items())) or "none"
    recovered = settled and works and damage == Damage() and recovered_s is not None
    return [
        outage_s,
        sum(len(v) for v in ledger.acked.values()),
        errors,
        ok_during,
        ready_during,
        "-" if recovered_s is None else f"{recovered_s:.1f}",
        len(damage.stuck),
        damage.lost_turns,
        "yes" if recovered else "NO",
    ]


def probe(url: str) -> tuple[int, int]:
    """``/ok`` and ``/ready`` statuses."""
    with httpx.Client(base_url=url, timeout=10) as http:
        return http.get("/ok").status_code, http.get("/ready").status_code


def wait_ready(url: str, timeout_s: float) -> float | None:
    """Seconds until ``/ready`` answers 200 (``None``: not within ``timeout_s``)."""
    start = time.monotonic()
    with httpx.Client(base_url=url, timeout=10) as http:
        while time.monotonic() - start < timeout_s:
            if http.get("/ready").status_code == 200:
                return time.monotonic() - start
            time.sleep(0.1)
    return None


def load(stub: str, clients_n: int, turns: int) -> list[Any]:
    """``clients_n`` clients x ``turns`` turns at once on SQLite; one table row."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'load.db'}"
        server = ServeProcess(url, stub, Path(tmp))
        with server.running():
            threads = new_threads(server.url, clients_n)
            ledger = Ledger()
            start = time.monotonic()
            workers = busy_clients(server.url, threads, ledger, threading.Event(), max_turns=turns)
            for worker in workers:
                worker.join(timeout=600)
            seconds = time.monotonic() - start
            damage = inspect(server.url, threads, ledger)
    acked = sum(len(v) for v in ledger.acked.values())
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(ledger.errors.items())) or "none"
    return [clients_n, turns, acked, damage.lost_turns, len(damage.stuck), errors, f"{acked / seconds:.1f}"]


def main() -> None:
    """Run the scenarios and print the tables."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--threads", type=int, default=10)
    parser.add_argument("--outage-s", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    with OpenAIStubServer() as stub, tempfile.TemporaryDirectory() as tmp:
        rows: list[list[Any]] = []
        with RedisServer() as redis:
            backends: dict[str, Callable[[], str]] = {
                "sqlite": lambda: f"sqlite:///{Path(tmp) / 'crash.db'}",
                "redis": lambda: redis.url,
            }
            for name, url in backends.items():
                rows.append(kill_rounds(name, url(), stub.base_url, args.kills, args.threads, args.seed))
        table(
            "kill -9 at random points, restart on the same data",
            [
                "backend",
                "kills",
                "threads",
                "acked turns",
                "corrupted",
                "stuck",
                "turns lost",
                "runs ended as error",
                "next turn works",
            ],
            rows,
        )
        table(
            "Redis stopped under traffic, started again on the same port (persistence on)",
            [
                "outage s",
                "acked turns",
                "client errors by status",
                "/ok during",
                "/ready during",
                "ready again after s",
                "stuck",
                "turns lost",
                "recovered without restart",
            ],
            [outage(stub.base_url, args.outage_s, args.threads)],
        )
        table(
            "clients at once on SQLite (every acknowledged turn in history, in order)",
            ["clients", "turns each", "acked turns", "turns lost", "stuck", "errors", "turns/s"],
            [load(stub.base_url, args.clients, args.turns)],
        )


if __name__ == "__main__":
    main()
