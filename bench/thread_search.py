"""Thread search at scale: newest 10, by owner, by one metadata key, and the count of each.

Inserts ``--threads`` threads (default 100,000) into each backend's thread registry, then times
each search ``--runs`` times and prints the median in milliseconds. Every thread has an owner (one
of 100), metadata ``{"user": one of 1000, "kind": one of 3, "n": i}``; the searches ask for the
newest 10 overall, of ``owner-7``, and of ``user-42`` (100 matches each way), sorted by
``updated_at``. Target of issue 10: every figure at most 10 ms at 100,000 threads.

Run: ``.venv/bin/python bench/thread_search.py [--threads 100000] [--runs 7]
[--backends memory,sqlite,redis,postgres]``. Redis and PostgreSQL come from the test harnesses
(``tests/support``); SQLite is a temporary file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from sessiongraph.checkpoints import BackendOptions, ThreadQuery, open_backend
from sessiongraph.checkpoints.registry import ThreadInfo, ThreadRegistry

BATCH = 200
SEARCHES: dict[str, ThreadQuery] = {
    "newest 10": ThreadQuery(limit=10),
    "owner, newest 10": ThreadQuery(owner="owner-7", limit=10),
    "metadata key, newest 10": ThreadQuery(metadata={"user": "user-42"}, limit=10),
}


@contextlib.contextmanager
def backend_url(kind: str) -> Iterator[str]:
    """A URL of an empty backend of ``kind``, gone afterwards."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    if kind == "memory":
        yield "memory://"
    elif kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
    elif kind == "redis":
        from support.redis_server import RedisServer

        with RedisServer() as server:
            yield server.url
    elif kind == "postgres":
        from support.postgres_server import PostgresServer

        with PostgresServer() as server:
            yield server.url
    else:
        raise SystemExit(f"unknown backend {kind!r}; use memory, sqlite, redis or postgres")


async def fill(registry: ThreadRegistry, count: int) -> float:
    """Insert ``count`` threads (in concurrent batches); seconds taken."""
    started = time.perf_counter()
    stamp = time.time() - count
    for first in range(0, count, BATCH):
        infos = [
            ThreadInfo(
                thread_id=f"thread-{i:07d}",
                created_at=stamp + i,
                updated_at=stamp + i,
                metadata={"user": f"user-{i % 1000}", "kind": "abc"[i % 3], "n": i},
                owner=f"owner-{i % 100}",
            )
            for i in range(first, min(first + BATCH, count))
        ]
        await asyncio.gather(*(registry.insert_if_absent(info) for info in infos))
    return time.perf_counter() - started


async def median_ms(call: Callable[[], Awaitable[Any]], runs: int) -> float:
    """Median wall time of ``call`` in ms (after one warm-up call)."""
    await call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def measure(kind: str, threads: int, runs: int) -> list[tuple[str, str, float, float]]:
    """Rows ``(backend, search, search ms, count ms)``."""
    rows = []
    options = BackendOptions(memory_max_threads=threads + 1)
    with backend_url(kind) as url:
        async with open_backend(url, options) as backend:
            registry = backend.registry
            seconds = await fill(registry, threads)
            print(f"{kind}: inserted {threads} threads in {seconds:.1f} s", file=sys.stderr)
            for name, query in SEARCHES.items():
                found = await registry.search(query)
                assert len(found) == 10, (kind, name, len(found))
                search = await median_ms(lambda q=query: registry.search(q), runs)
                count = await median_ms(lambda q=query: registry.count(q), runs)
                rows.append((kind, name, search, count))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--backends", default="memory,sqlite,redis,postgres")
    args = parser.parse_args()
    rows = []
    for kind in args.backends.split(","):
        rows += asyncio.run(measure(kind.strip(), args.threads, args.runs))
    print(f"\nthread search at {args.threads} threads (median of {args.runs} runs, ms; target <= 10)")
    print(f"{'backend':<9} {'search':<24} {'search ms':>10} {'count ms':>9}  ok")
    for kind, name, search, count in rows:
        ok = "yes" if max(search, count) <= 10 else "NO"
        print(f"{kind:<9} {name:<24} {search:>10.2f} {count:>9.2f}  {ok}")


if __name__ == "__main__":
    main()
