"""Growth of one long session: prompt tokens, bytes stored and per-turn latency over 200 turns.

One thread, ``--turns`` turns with the offline model (a mix of chat, parallel tool calls, a
failing tool and memory questions), on SQLite and Redis, in two modes:

- ``unbounded``: no summarization (a budget nothing reaches) and no checkpoint pruning;
- ``bounded``: summarization with the budget below and ``checkpoint_keep_latest``.

At turns 10, 50, 100 and 200 it prints the persisted prompt (running summary + messages, in
tokens, as the turn's first model call saw it after summarization), the bytes stored for the
thread (``Sessions.thread_stats``), and the per-turn latency: the mean over the last full cycle of
the message mix ending there (turns 3-10 for turn 10), so that every row times the same workload.
A plain window median would compare different mixes: chat turns take a fraction of the time of
tool and replan turns, and the median of a 10-turn window flips between the two. Each figure is
the median over ``--runs`` runs. It then checks the targets of the issue.

Run: ``.venv/bin/python bench/growth.py [--turns 200] [--runs 3] [--backends sqlite,redis]``.
Redis comes from ``tests/support/redis_server.RedisServer`` (Valkey + RedisJSON + RediSearch).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.messages.utils import count_tokens_approximately

from sessiongraph import Sessions
from sessiongraph.nodes.offline import OfflineChatModel
from sessiongraph.nodes.summarize import summary_message
from sessiongraph.settings import Settings

REPORT_AT = (10, 50, 100, 200)
BOUNDED = {"summary_trigger_tokens": 800, "summary_keep_tokens": 300, "summary_max_tokens": 200}
UNBOUNDED = {"summary_trigger_tokens": 10**9, "summary_keep_tokens": 10**8, "summary_max_tokens": 10**8}
KEEP_LATEST = 6
MESSAGES = [
    "Hello! I am planning a small trip and want to think out loud for a bit.",
    "12*7 and 3+4",
    "What is my name?",
    "Count the words in: the quick brown fox jumps over the lazy dog near the river bank",
    "Tell me again what we were talking about, in a sentence or two please.",
    "what is 2**10 and 5*5?",
    "1/0",
    "Just a short note to keep the conversation going.",
]


WINDOW = len(MESSAGES)  # one full cycle of the mix; turn 1 (introductions) is outside every window


class MeteredModel(OfflineChatModel):
    """The offline model, noting how large the conversation is at each turn's first model call."""

    first_call_tokens: list[int] = field(default_factory=list)  # type: ignore[assignment]

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ):
        names = {t["function"]["name"] for t in kwargs.get("tools") or []}
        if "UnderstandingOutput" in names:  # understand: the first call after summarization
            self.first_call_tokens.append(count_tokens_approximately(messages[1:]))
        return super()._generate(messages, stop, run_manager, **kwargs)


@dataclass
class Run:
    """One thread's figures: per turn latency and prompt, and the bytes at the report turns."""

    latency_ms: list[float] = field(default_factory=list)
    prompt_tokens: list[int] = field(default_factory=list)
    bytes_at: dict[int, int] = field(default_factory=dict)
    file_bytes: int | None = None


async def one_run(url: str, bounded: bool, turns: int, sqlite_file: Path | None) -> Run:
    settings = Settings(
        checkpoint_url=url, model="offline", checkpoint_keep_latest=KEEP_LATEST if bounded else None
    )
    budget = BOUNDED if bounded else UNBOUNDED
    model = MeteredModel()
    run = Run()
    async with Sessions.open(url, settings=settings, model=model) as sessions:
        await sessions.invoke("bench", "My name is Ada.", context=budget)  # turn 1
        run.latency_ms.append(0.0)
        for turn in range(2, turns + 1):
            start = time.perf_counter()
            values = await sessions.invoke("bench", MESSAGES[turn % len(MESSAGES)], context=budget)
            run.latency_ms.append((time.perf_counter() - start) * 1000)
            summary = values.get("summary") or ""
            summary_tokens = count_tokens_approximately(summary_message(summary)) if summary else 0
            run.prompt_tokens.append(model.first_call_tokens[-1] + summary_tokens)
            if turn in REPORT_AT:
                run.bytes_at[turn] = (await sessions.thread_stats("bench", budget)).bytes_stored
        if sqlite_file is not None:
            conn = sessions.graph.checkpointer.conn  # type: ignore[union-attr]
            await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            run.file_bytes = sqlite_file.stat().st_size
    run.latency_ms[0] = run.latency_ms[1]
    return run


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(backend: str, mode: str, runs: list[Run], turns: int) -> dict[int, tuple[float, float, float]]:
    rows = {}
    for at in (t for t in REPORT_AT if t <= turns):
        tokens = median([r.prompt_tokens[at - 2] for r in runs])
        stored = median([r.bytes_at.get(at, 0) for r in runs])
        latency = median([statistics.fmean(r.latency_ms[at - WINDOW : at]) for r in runs])
        rows[at] = (tokens, stored, latency)
        print(f"| {backend:6} | {mode:9} | {at:4} | {tokens:8.0f} | {stored / 1e6:9.3f} | {latency:9.1f} |")
    files = [r.file_bytes for r in runs if r.file_bytes is not None]
    if files:
        print(f"|        |           | file |          | {median(files) / 1e6:9.3f} | (SQLite file) |")
    return rows


def check_targets(bounded: dict, unbounded: dict, runs: list[Run], turns: int) -> list[str]:
    last = max(bounded)
    worst_prompt = max(max(r.prompt_tokens) for r in runs)
    stored = bounded[last][1]
    return [
        f"prompt within budget at every turn: max {worst_prompt} <= {BOUNDED['summary_trigger_tokens']}"
        f" -> {'OK' if worst_prompt <= BOUNDED['summary_trigger_tokens'] else 'MISSED'}",
        f"bytes after {last} turns: {stored / 1e6:.3f} MB <= 0.5 MB"
        f" -> {'OK' if stored <= 500_000 else 'MISSED'}",
        f"bytes vs unbounded: 1/{unbounded[last][1] / max(stored, 1):.0f} (target <= 1/50)"
        f" -> {'OK' if stored * 50 <= unbounded[last][1] else 'MISSED'}",
        f"latency turn {last} vs turn 10: {bounded[last][2] / bounded[10][2]:.2f}x (target <= 1.2x)"
        f" -> {'OK' if bounded[last][2] <= 1.2 * bounded[10][2] else 'MISSED'}",
    ]


async def bench(args: argparse.Namespace) -> None:
    global KEEP_LATEST
    KEEP_LATEST = args.keep_latest
    BOUNDED.update(
        summary_trigger_tokens=args.trigger,
        summary_keep_tokens=args.keep_tokens,
        summary_max_tokens=args.summary_max,
    )
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from support.redis_server import RedisServer

    backends = args.backends.split(",")
    print(f"{args.turns} turns, {args.runs} run(s) each, bounded = {BOUNDED} + keep_latest={KEEP_LATEST}")
    print("| store  | mode      | turn | prompt t | stored MB | turn ms   |")
    print("|--------|-----------|------|----------|-----------|-----------|")
    verdicts = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            results = {}
            for mode in ("unbounded", "bounded"):
                runs = []
                for index in range(args.runs):
                    bounded = mode == "bounded"
                    if backend == "redis":
                        # A fresh server per run: flushing hundreds of MB of indexed documents
                        # keeps RediSearch busy long enough to time the next run's client out.
                        with RedisServer() as server:
                            runs.append(await one_run(server.url, bounded, args.turns, None))
                    else:
                        sqlite_file = Path(tmp) / f"{mode}-{index}.db"
                        url = f"sqlite:///{sqlite_file}"
                        runs.append(await one_run(url, bounded, args.turns, sqlite_file))
                        sqlite_file.unlink()
                results[mode] = (report(backend, mode, runs, args.turns), runs)
            checks = check_targets(
                results["bounded"][0], results["unbounded"][0], results["bounded"][1], args.turns
            )
            verdicts += [f"{backend}: {line}" for line in checks]
    print()
    print("\n".join(verdicts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,redis")
    parser.add_argument("--trigger", type=int, default=BOUNDED["summary_trigger_tokens"])
    parser.add_argument("--keep-tokens", type=int, default=BOUNDED["summary_keep_tokens"])
    parser.add_argument("--summary-max", type=int, default=BOUNDED["summary_max_tokens"])
    parser.add_argument("--keep-latest", type=int, default=KEEP_LATEST)
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
