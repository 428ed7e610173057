"""Many concurrent chat sessions on a slow model: this server vs ``langgraph dev``.

An OpenAI-compatible stub (``tests/support/openai_stub.py``, the offline brain) that waits
``--latency-ms`` per call runs in its own process. ``C`` clients (``--clients``), each on its own
thread (conversation), do ``--turns`` chat turns with langgraph-sdk ``runs.wait``, all at once,
against (a) ``sessiongraph serve`` and (b) ``langgraph dev`` serving the same graph, both calling
the stub. A chat turn makes 2 model calls, so the ideal throughput is ``C / (2 x latency)``
turns/s. Per target it prints throughput (and its share of the ideal), p50/p95 turn latency,
errors, and model calls per turn (counted by the stub), each the median of ``--repeats`` runs.
Targets of issue 10 at C=200, 500 ms: >= 90 % of ideal, p50 within 100 ms of 2 x latency, no
errors.

It also prints the CPU milliseconds each chat turn cost the server (with its workers), the
store's server (Redis or PostgreSQL, when the bench starts one), the stub and the clients (this
process), and the throughput the machine's cores allow at that cost: the
clients and the stub share the cores with the server, so on a small machine that ceiling, not
the model's latency, bounds what any server can reach.

Run: ``.venv/bin/python bench/slow_model.py [--clients 200] [--latency-ms 500] [--turns 3]
[--repeats 3] [--backend sqlite|redis|postgres] [--workers N] [--durability exit] [--skip-dev]
[--dev-turns 1] [--dev-repeats 1]`` (default: a temporary SQLite file; with ``--workers`` above
1, a Redis from the test harness). ``langgraph dev`` is slow enough at C=200 (minutes per turn)
that it runs one turn per client, once, by default.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.openai_stub import OpenAIStubServer  # noqa: E402
from support.server_process import HOST, free_port, serving  # noqa: E402


class SlowStub(OpenAIStubServer):
    """The stub, waiting a fixed time before each chat completion; ``GET /v1/calls`` counts them."""

    def __init__(self, latency_s: float) -> None:
        super().__init__()
        self.latency_s = latency_s
        self.calls = 0

    def app(self) -> Any:
        """The stub's routes plus the call counter."""
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        app = super().app()

        async def calls(request: Any) -> Any:
            return JSONResponse({"calls": self.calls})

        async def ok(request: Any) -> Any:
            return JSONResponse({"ok": True})

        app.router.routes.append(Route("/v1/calls", calls, methods=["GET"]))
        app.router.routes.append(Route("/ok", ok, methods=["GET"]))
        return app

    async def _chat_completions(self, request: Any) -> Any:
        self.calls += 1
        await request.body()  # read (and cached) before waiting, as a model server would
        await asyncio.sleep(self.latency_s)
        self.requests.clear()  # a long bench would keep every body otherwise
        return await super()._chat_completions(request)


def run_stub(port: int, latency_s: float) -> None:
    """Serve the slow stub in this process (the ``stub`` sub-command)."""
    import uvicorn

    uvicorn.run(
        SlowStub(latency_s).app(),
        host=HOST,
        port=port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
        backlog=4096,
    )


@contextlib.contextmanager
def stub_process(latency_s: float, log: Path) -> Iterator[tuple[str, int]]:
    """The stub in its own process; yields its base URL (``.../v1``) and process id."""
    port = free_port()
    argv = [sys.executable, __file__, "stub", "--port", str(port), "--latency-ms", str(latency_s * 1000)]
    with serving(argv, url=f"http://{HOST}:{port}", log=log, boot_timeout_s=60) as process:
        yield f"http://{HOST}:{port}/v1", process.pid


def env_for(stub_url: str, checkpoint_url: str) -> dict[str, str]:
    """Both servers: the stub as the model, no rate limit, no telemetry."""
    return {
        **os.environ,
        "SESSIONGRAPH_MODEL": "openai:stub",
        "SESSIONGRAPH_OPENAI_BASE_URL": stub_url,
        "SESSIONGRAPH_OPENAI_API_KEY": "bench",
        "SESSIONGRAPH_CHECKPOINT_URL": checkpoint_url,
        "SESSIONGRAPH_RATE_LIMIT": "0",
        "SESSIONGRAPH_API_KEYS": "{}",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "LANGSMITH_TRACING": "false",
    }


async def drive(url: str, clients: int, turns: int, durability: str | None = None) -> dict[str, float]:
    """``clients`` conversations of ``turns`` turns at once; throughput, latencies, errors."""
    latencies: list[float] = []
    errors = 0
    context = ssl.create_default_context()

    async def conversation(index: int) -> None:
        async with sdk_client(url, context) as sdk:
            await chat(sdk, index)

    async def chat(sdk: Any, index: int) -> None:
        nonlocal errors
        thread = (await sdk.threads.create())["thread_id"]
        for turn in range(turns):
            message = {"role": "user", "content": f"hello from client {index}, turn {turn}"}
            started = time.perf_counter()
            try:
                options: dict[str, Any] = {"durability": durability} if durability else {}
                result = await sdk.runs.wait(thread, "agent", input={"messages": [message]}, **options)
                if not isinstance(result, dict) or "__error__" in result or not result.get("messages"):
                    errors += 1
                    print(f"error: {str(result)[:300]}", file=sys.stderr)
                    continue
            except Exception as exc:
                errors += 1
                print(f"error: {exc!r}"[:300], file=sys.stderr)
                continue
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(conversation(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "throughput": len(latencies) / elapsed,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan"),
        "errors": float(errors),
    }


def sdk_client(url: str, context: ssl.SSLContext) -> Any:
    """The official client over its own connection, as one user's would be.

    Not ``get_client``: each of its clients builds an SSL context (about 60 ms of CPU, even for
    ``http://``), and C users sharing one client share one httpx pool, which keeps 100
    connections (20 alive) by default and scans all of them on every request.
    """
    from langgraph_sdk.client import LangGraphClient

    transport = httpx.AsyncHTTPTransport(retries=5, verify=context)
    return LangGraphClient(httpx.AsyncClient(base_url=url, transport=transport, timeout=300))


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its descendants (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    family, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in family} - family
        family |= more
        grew = bool(more)
    return sum(times.get(member, 0.0) for member in family)


def own_cpu_seconds() -> float:
    """CPU seconds of this process (the clients)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def calls_so_far(stub_url: str) -> int:
    """Model calls the stub has answered."""
    return int(httpx.get(f"{stub_url}/calls", timeout=10).json()["calls"])


def measure(
    name: str,
    argv: list[str],
    env: dict[str, str],
    stub: tuple[str, int],
    args: Any,
    tmp: Path,
    store_pid: int | None = None,
) -> dict:
    """Median figures of ``--repeats`` runs against one server: throughput, latency, errors,
    model calls per turn, and CPU milliseconds per turn of the server, the stub, the clients and
    the store's server (Redis or PostgreSQL, when the bench started one)."""
    stub_url, stub_pid = stub
    port = free_port()
    url = f"http://{HOST}:{port}"
    runs = []
    argv = [*argv, "--port", str(port)]
    turns = args.clients * args.turns
    with serving(argv, url=url, log=tmp / f"{name}.log", boot_timeout_s=120, env=env, cwd=tmp) as server:
        asyncio.run(drive(url, min(args.clients, 4), 1, args.durability))  # warm-up
        for _ in range(args.repeats):
            before = calls_so_far(stub_url)

            def sample() -> list[float]:
                store = cpu_seconds(store_pid) if store_pid else 0.0
                return [cpu_seconds(server.pid), cpu_seconds(stub_pid), own_cpu_seconds(), store]

            cpu = sample()
            figures = asyncio.run(drive(url, args.clients, args.turns, args.durability))
            after = sample()
            figures["calls_per_turn"] = (calls_so_far(stub_url) - before) / turns
            keys = ("server_cpu", "stub_cpu", "client_cpu", "store_cpu")
            for key, start, end in zip(keys, cpu, after, strict=True):
                figures[key] = (end - start) * 1000 / turns
            runs.append(figures)
    if any(run["errors"] for run in runs):
        problems = [line for line in (tmp / f"{name}.log").read_text().splitlines() if "Error" in line]
        print(f"{name}: server log errors (last 5):", *problems[-5:], sep="\n  ", file=sys.stderr)
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    stub = sub.add_parser("stub", help="serve the slow stub (used by the bench itself)")
    stub.add_argument("--port", type=int, required=True)
    stub.add_argument("--latency-ms", type=float, default=500)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=500)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--backend",
        choices=("sqlite", "redis", "postgres"),
        default=None,
        help="sessions in a temporary SQLite file (default with one worker), or a Redis (default "
        "with several) or PostgreSQL server started by the test harness",
    )
    parser.add_argument("--checkpoint-url", default=None, help="an existing backend instead")
    parser.add_argument("--workers", type=int, default=1, help="sessiongraph serve --workers")
    parser.add_argument(
        "--durability", choices=("sync", "async", "exit"), default=None, help="the runs' durability"
    )
    parser.add_argument("--skip-dev", action="store_true")
    parser.add_argument("--dev-turns", type=int, default=1, help="turns per client against langgraph dev")
    parser.add_argument("--dev-repeats", type=int, default=1, help="runs against langgraph dev")
    args = parser.parse_args()
    if args.command == "stub":
        run_stub(args.port, args.latency_ms / 1000)
        return
    latency = args.latency_ms / 1000
    ideal = args.clients / (2 * latency)
    rows = {}
    with tempfile.TemporaryDirectory() as raw_tmp, contextlib.ExitStack() as stack:
        tmp = Path(raw_tmp)
        backend = args.backend or ("sqlite" if args.workers == 1 else "redis")
        store_pid = None
        if args.checkpoint_url:
            checkpoint_url = args.checkpoint_url
        else:
            checkpoint_url, store_pid = backend_url(backend, tmp, stack)
        with stub_process(latency, tmp / "stub.log") as stub:
            env = env_for(stub[0], checkpoint_url)
            sessiongraph = [str(Path(sys.executable).with_name("sessiongraph")), "serve"]
            name = f"sessiongraph {backend}" + (f" x{args.workers}" if args.workers > 1 else "")
            sessiongraph += ["--workers", str(args.workers)]
            rows[name] = measure("sessiongraph", sessiongraph, env, stub, args, tmp, store_pid)
            if not args.skip_dev:
                config = tmp / "langgraph.json"
                config.write_text(
                    f'{{"dependencies": ["{ROOT}"], "graphs": {{"agent": "{ROOT}/graphs/agent.py:graph"}}}}'
                )
                dev = [
                    str(Path(sys.executable).with_name("langgraph")), "dev", "--no-browser", "--no-reload",
                    "--config", str(config),
                ]  # fmt: skip
                dev_args = argparse.Namespace(
                    **{**vars(args), "turns": args.dev_turns, "repeats": args.dev_repeats}
                )
                rows["langgraph dev"] = measure("dev", dev, env, stub, dev_args, tmp)
    print_table(args, ideal, rows)


def backend_url(kind: str, tmp: Path, stack: contextlib.ExitStack) -> tuple[str, int | None]:
    """A fresh backend of ``kind`` for the run (servers from the test harness, stopped at exit),
    and its server's process id."""
    if kind == "redis":
        from support.redis_server import RedisServer

        redis = stack.enter_context(RedisServer())
        return redis.url, redis.pid
    if kind == "postgres":
        from support.postgres_server import PostgresServer

        postgres = stack.enter_context(PostgresServer())
        return postgres.url, postgres.pid
    return f"sqlite:///{tmp}/sessions.db", None


def print_table(args: Any, ideal: float, rows: dict[str, dict]) -> None:
    """The figures, and the throughput the machine's cores allow at the measured CPU per turn."""
    cores = os.cpu_count() or 1
    print(
        f"\n{args.clients} clients x {args.turns} chat turns ({args.dev_turns} against langgraph dev), "
        f"model {args.latency_ms:.0f} ms per call, durability {args.durability or 'async'}, "
        f"median of {args.repeats} runs; ideal {ideal:.1f} turns/s, turn latency {2 * args.latency_ms:.0f} ms"
    )
    header = (
        "server", "turns/s", "of ideal", "p50 ms", "p95 ms", "errors", "calls/turn",
        "CPU ms/turn: server", "store", "stub", "clients", f"CPU ceiling ({cores} cores)",
    )  # fmt: skip
    print("{:<24} {:>8} {:>9} {:>8} {:>8} {:>7} {:>10} {:>20} {:>6} {:>6} {:>8} {:>22}".format(*header))
    for name, row in rows.items():
        total = row["server_cpu"] + row["store_cpu"] + row["stub_cpu"] + row["client_cpu"]
        ceiling = cores * 1000 / total if total else float("inf")
        print(
            f"{name:<24} {row['throughput']:>8.1f} {row['throughput'] / ideal:>9.0%} "
            f"{row['p50'] * 1000:>8.0f} {row['p95'] * 1000:>8.0f} {row['errors']:>7.0f} "
            f"{row['calls_per_turn']:>10.2f} {row['server_cpu']:>20.1f} {row['store_cpu']:>6.1f} "
            f"{row['stub_cpu']:>6.1f} "
            f"{row['client_cpu']:>8.1f} {ceiling:>16.0f} turns/s"
        )


if __name__ == "__main__":
    main()
