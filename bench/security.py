"""Security and fairness benchmark (issue 13): memory over stateless runs, /ok latency under the
inputs that used to freeze the server.

It serves ``sessiongraph serve`` as a child process (SQLite, offline model, two owners) and prints:

1. the server's resident memory after 50 warm-up stateless runs (``POST /runs/wait`` with a
   ~90 KB message) and after every further 100, up to 500: flat means the runs left nothing;
2. ``/ok`` latency of one owner, idle and while the other owner sends the freezing inputs
   (``round(1, -10000000)``, ``9**9**9``, ``(2**4000)**4000``, a message of 9,000 expressions)
   over and over: median and longest, each the median of ``--repeats`` rounds, with the ratio
   against the idle baseline measured in the same run.

    python bench/security.py [--runs 500] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support.server_process import HOST, free_port, serving  # noqa: E402

KEYS = {"key-alice": "alice", "key-bob": "bob"}
ALICE, BOB = {"x-api-key": "key-alice"}, {"x-api-key": "key-bob"}
FREEZERS = (
    "what is round(1, -10000000)?",
    "what is 9**9**9?",
    "what is (2**4000)**4000?",
    "compute " + ", ".join(f"{i}*{i}" for i in range(9000)),
)
BIG_TEXT = "lorem ipsum " * 7500  # ~90 KB, under the default max_message_chars


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def stateless(http: httpx.AsyncClient, text: str) -> None:
    body = {"assistant_id": "agent", "input": {"messages": [{"role": "user", "content": text}]}}
    answer = await http.post("/runs/wait", json=body, headers=ALICE)
    answer.raise_for_status()


async def memory_table(http: httpx.AsyncClient, pid: int, runs: int) -> list[tuple[int, float]]:
    for _ in range(50):
        await stateless(http, BIG_TEXT)
    rows = [(0, rss_mb(pid))]
    for done in range(1, runs + 1):
        await stateless(http, BIG_TEXT)
        if done % 100 == 0:
            rows.append((done, rss_mb(pid)))
    return rows


async def ok_latencies(http: httpx.AsyncClient, stop: asyncio.Event, least: int) -> list[float]:
    seen: list[float] = []
    while not stop.is_set() or len(seen) < least:
        start = time.perf_counter()
        (await http.get("/ok", headers=BOB)).raise_for_status()
        seen.append(time.perf_counter() - start)
    return seen


async def freeze_round(http: httpx.AsyncClient) -> tuple[list[float], int]:
    """/ok latencies while every freezer runs 3 times at once; and how many freezers answered 5xx."""
    stop = asyncio.Event()
    watcher = asyncio.create_task(ok_latencies(http, stop, least=20))
    answers = await asyncio.gather(
        *(
            http.post(
                "/runs/wait",
                json={"assistant_id": "agent", "input": {"messages": [{"role": "user", "content": text}]}},
                headers=ALICE,
            )
            for text in FREEZERS * 3
        )
    )
    stop.set()
    return await watcher, sum(a.status_code >= 500 for a in answers)


async def latency_table(http: httpx.AsyncClient, repeats: int) -> dict[str, tuple[float, float]]:
    idle_p50, idle_max, busy_p50, busy_max, errors = [], [], [], [], 0
    for _ in range(repeats):
        stop = asyncio.Event()
        stop.set()
        idle = await ok_latencies(http, stop, least=200)
        busy, failed = await freeze_round(http)
        errors += failed
        idle_p50.append(statistics.median(idle))
        idle_max.append(max(idle))
        busy_p50.append(statistics.median(busy))
        busy_max.append(max(busy))
    if errors:
        print(f"!! {errors} freezing request(s) answered 5xx")
    return {
        "idle": (statistics.median(idle_p50), statistics.median(idle_max)),
        "under freezing inputs": (statistics.median(busy_p50), statistics.median(busy_max)),
    }


async def main(runs: int, repeats: int) -> None:
    port = free_port()
    url = f"http://{HOST}:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "SESSIONGRAPH_CHECKPOINT_URL": f"sqlite:///{tmp}/bench.db",
            "SESSIONGRAPH_MODEL": "offline",
            "SESSIONGRAPH_API_KEYS": json.dumps(KEYS),
            "SESSIONGRAPH_RATE_LIMIT": "0",
        }
        argv = [sys.executable, "-m", "sessiongraph.cli", "serve", "--host", HOST, "--port", str(port)]
        with serving(argv, url=url, log=Path(tmp) / "server.log", boot_timeout_s=60, env=env) as process:
            async with httpx.AsyncClient(base_url=url, timeout=120) as http:
                memory = await memory_table(http, process.pid, runs)
                latency = await latency_table(http, repeats)
            log = (Path(tmp) / "server.log").read_text()
    print(f"\nServer memory over {runs} stateless runs (~90 KB message each), RSS in MB")
    print(f"{'runs after warm-up':>20} {'RSS MB':>8} {'vs start':>9}")
    for done, mb in memory:
        print(f"{done:>20} {mb:>8.1f} {mb - memory[0][1]:>+9.1f}")
    print(f"\n/ok latency of another owner (median of {repeats} rounds), ms")
    base = latency["idle"]
    print(f"{'':>22} {'p50':>8} {'max':>8} {'p50 x':>7} {'max x':>7}")
    for name, (p50, longest) in latency.items():
        print(
            f"{name:>22} {p50 * 1000:>8.2f} {longest * 1000:>8.2f} "
            f"{p50 / base[0]:>7.1f} {longest / base[1]:>7.1f}"
        )
    print(f"\nunhandled errors in the server log: {log.count('unhandled error')}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.repeats))
