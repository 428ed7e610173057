"""API latency benchmark: this server vs ``langgraph dev`` vs in-process ``ainvoke``.

One client script (langgraph-sdk ``runs.wait``) runs against (a) ``sessiongraph``'s API on
SQLite and (b) ``langgraph dev`` serving the same graph (``langgraph.json``), both with the
offline model; (c) is the same graph called in-process with ``ainvoke`` on ``AsyncSqliteSaver``.

It prints one table: sequential per-turn latency (one thread, 20 turns: p50/p95) and
throughput (20 threads x 5 turns at once), each the median of ``--repeats`` runs, with ratios
against the in-process baseline measured in the same run.

    python bench/api_latency.py [--repeats 3] [--skip-dev]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TURNS = 20
THREADS, THREAD_TURNS = 20, 5

Turn = Callable[[str, int], Awaitable[None]]


def say(i: int) -> dict:
    """The input of turn ``i``."""
    return {"messages": [{"role": "user", "content": f"hello number {i}"}]}


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def process(cmd: list[str], env: dict[str, str], url: str, cwd: Path, timeout: float = 120) -> Iterator[None]:
    """Start a server process and wait (bounded) until ``/ok`` answers."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"{cmd[0]} exited:\n{log.read().decode()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{cmd} did not start in {timeout} s")
            time.sleep(0.2)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def base_env(db: Path) -> dict[str, str]:
    """Environment of both servers: offline model, SQLite file, no telemetry."""
    return {
        **os.environ,
        "SESSIONGRAPH_MODEL": "offline",
        "SESSIONGRAPH_CHECKPOINT_URL": f"sqlite:///{db}",
        "SESSIONGRAPH_RATE_LIMIT": "0",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "LANGSMITH_TRACING": "false",
    }


# --- the client script ---------------------------------------------------------------------------


async def measure(new_thread: Callable[[], Awaitable[str]], turn: Turn) -> tuple[float, float, float]:
    """(p50 ms, p95 ms) of 20 sequential turns on one thread, and turns/s of 20x5 concurrent."""
    await turn(await new_thread(), -1)  # warm-up
    tid = await new_thread()
    latencies = []
    for i in range(TURNS):
        start = time.perf_counter()
        await turn(tid, i)
        latencies.append((time.perf_counter() - start) * 1000)
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]

    async def conversation() -> None:
        thread = await new_thread()
        for i in range(THREAD_TURNS):
            await turn(thread, i)

    start = time.perf_counter()
    await asyncio.gather(*(conversation() for _ in range(THREADS)))
    throughput = THREADS * THREAD_TURNS / (time.perf_counter() - start)
    return p50, p95, throughput


async def sdk_target(url: str) -> tuple[float, float, float]:
    """The client script with langgraph-sdk against a server."""
    from langgraph_sdk import get_client

    client = get_client(url=url, timeout=120)

    async def new_thread() -> str:
        return (await client.threads.create())["thread_id"]

    async def turn(tid: str, i: int) -> None:
        await client.runs.wait(tid, "agent", input=say(i))

    try:
        return await measure(new_thread, turn)
    finally:
        await client.aclose()


async def inprocess_target(db: Path) -> tuple[float, float, float]:
    """The same graph, called with ``ainvoke`` on an ``AsyncSqliteSaver``."""
    from sessiongraph.checkpoints import open_backend
    from sessiongraph.graphs.agent import build_graph
    from sessiongraph.graphs.context import Context

    async with open_backend(f"sqlite:///{db}") as backend:
        graph = build_graph(checkpointer=backend.checkpointer, store=backend.store)
        context = Context(model="offline")

        async def new_thread() -> str:
            return str(uuid.uuid4())

        async def turn(tid: str, i: int) -> None:
            await graph.ainvoke(say(i), {"configurable": {"thread_id": tid}}, context=context)

        return await measure(new_thread, turn)


# --- orchestration -------------------------------------------------------------------------------


def run_sessiongraph(tmp: Path) -> tuple[float, float, float]:
    """(a) this server, uvicorn (uvloop + httptools) in its own process."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "uvicorn", "--factory", "sessiongraph.api.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    with process(cmd, base_env(tmp / f"api-{port}.db"), url, ROOT):
        return asyncio.run(sdk_target(url))


def run_langgraph_dev(tmp: Path) -> tuple[float, float, float]:
    """(b) ``langgraph dev`` serving the same graph (its in-memory runtime)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # A config of our own in the temp dir (absolute graph path), so that langgraph dev's
    # .langgraph_api state lands there and not in the repository.
    config = tmp / "langgraph.json"
    config.write_text(
        f'{{"dependencies": ["{ROOT}"], "graphs": {{"agent": "{ROOT}/graphs/agent.py:graph"}}}}'
    )
    langgraph = Path(sys.executable).with_name("langgraph")
    cmd = [
        str(langgraph), "dev", "--no-browser", "--no-reload", "--port", str(port),
        "--config", str(config),
    ]  # fmt: skip
    with process(cmd, base_env(tmp / f"dev-{port}.db"), url, tmp):
        return asyncio.run(sdk_target(url))


def median_of(runs: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """Column-wise medians."""
    return tuple(statistics.median(col) for col in zip(*runs, strict=True))  # type: ignore[return-value]


def main() -> None:
    """Run the three targets and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-dev", action="store_true", help="do not measure langgraph dev")
    args = parser.parse_args()
    results: dict[str, tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="sg-bench-") as raw:
        tmp = Path(raw)
        targets: list[tuple[str, Callable[[], tuple[float, float, float]]]] = [
            (
                "in-process ainvoke (AsyncSqliteSaver)",
                lambda: asyncio.run(inprocess_target(tmp / "inproc.db")),
            ),
            ("sessiongraph API (SQLite)", lambda: run_sessiongraph(tmp)),
        ]
        if not args.skip_dev:
            targets.append(("langgraph dev (inmem runtime)", lambda: run_langgraph_dev(tmp)))
        for name, target in targets:
            runs = []
            for _ in range(args.repeats):
                runs.append(target())
                print(f"  {name}: p50 {runs[-1][0]:.1f} ms, {runs[-1][2]:.0f} turns/s", file=sys.stderr)
            results[name] = median_of(runs)
    base_p50 = results["in-process ainvoke (AsyncSqliteSaver)"][0]
    dev_tput = results.get("langgraph dev (inmem runtime)", (0, 0, 0))[2]
    header = (
        f"{'target':40} {'seq p50 ms':>10} {'seq p95 ms':>10} {'x in-proc':>9} "
        f"{'turns/s 20x5':>12} {'x dev':>6}"
    )
    print(header)
    print("-" * len(header))
    for name, (p50, p95, tput) in results.items():
        vs_dev = f"{tput / dev_tput:.1f}" if dev_tput else "-"
        print(f"{name:40} {p50:10.1f} {p95:10.1f} {p50 / base_p50:9.2f} {tput:12.1f} {vs_dev:>6}")
    print(
        f"\nagent graph with the offline model; sequential = one thread, {TURNS} turns; "
        f"throughput = {THREADS} threads x {THREAD_TURNS} turns concurrently; medians of {args.repeats} runs."
    )


if __name__ == "__main__":
    main()
