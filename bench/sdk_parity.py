"""Which langgraph-sdk methods work: this server vs ``langgraph dev``, same graph, same script.

Starts (a) ``sessiongraph``'s API on SQLite and (b) ``langgraph dev`` serving ``langgraph.json``'s
graph, both with the offline model, calls every public method of the Python SDK's assistants,
threads, runs, crons and store clients once on each, and prints a table (ok / the error).

    python bench/sdk_parity.py [--skip-dev]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from api_latency import ROOT, base_env, free_port, process
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

AGENT = "agent"
Call = Callable[[LangGraphClient, dict[str, Any]], Awaitable[Any]]


def say(text: str) -> dict[str, Any]:
    """One user message."""
    return {"messages": [{"role": "user", "content": text}]}


async def _collect(stream: Any) -> list[Any]:
    return [part async for part in stream]


async def _created_run(c: LangGraphClient, s: dict[str, Any]) -> Any:
    s["run"] = await c.runs.create(s["tid"], AGENT, input=say("hi"), stream_resumable=True)
    return await c.runs.join(s["tid"], s["run"]["run_id"])


async def _stream_thread(c: LangGraphClient, s: dict[str, Any]) -> Any:
    async with c.threads.stream(s["tid"], assistant_id=AGENT) as thread:
        await thread.run.start(input=say("v2 events"))
        return await thread.output


async def _cancel(c: LangGraphClient, s: dict[str, Any]) -> Any:
    # The last of several runs on one thread waits for the others: it is still pending here.
    for i in range(3):
        await c.runs.create(s["tid"], AGENT, input=say(f"run {i}"), multitask_strategy="enqueue")
    queued = await c.runs.create(s["tid"], AGENT, input=say("second"), multitask_strategy="enqueue")
    return await c.runs.cancel(s["tid"], queued["run_id"])


async def _join_thread(c: LangGraphClient, s: dict[str, Any]) -> Any:
    return await _collect(await c.threads.join_stream(s["tid"]))


CALLS: list[tuple[str, Call]] = [
    ("assistants.create", lambda c, s: c.assistants.create(AGENT, name="parity", context={"max_replans": 0})),
    ("assistants.get", lambda c, s: c.assistants.get(AGENT)),
    ("assistants.get_graph", lambda c, s: c.assistants.get_graph(AGENT, xray=True)),
    ("assistants.get_schemas", lambda c, s: c.assistants.get_schemas(AGENT)),
    ("assistants.get_subgraphs", lambda c, s: c.assistants.get_subgraphs(AGENT, namespace="x")),
    ("assistants.search", lambda c, s: c.assistants.search(name="parity")),
    ("assistants.count", lambda c, s: c.assistants.count()),
    ("assistants.update", lambda c, s: c.assistants.update(s["aid"], name="parity v2")),
    ("assistants.get_versions", lambda c, s: c.assistants.get_versions(s["aid"])),
    ("assistants.set_latest", lambda c, s: c.assistants.set_latest(s["aid"], 1)),
    ("threads.create", lambda c, s: c.threads.create(metadata={"parity": True})),
    ("threads.get", lambda c, s: c.threads.get(s["tid"])),
    ("threads.update", lambda c, s: c.threads.update(s["tid"], metadata={"x": 1})),
    ("threads.search", lambda c, s: c.threads.search(metadata={"parity": True})),
    ("threads.count", lambda c, s: c.threads.count()),
    ("runs.wait", lambda c, s: c.runs.wait(s["tid"], AGENT, input=say("My name is Ada"))),
    (
        "runs.stream",
        lambda c, s: _collect(c.runs.stream(s["tid"], AGENT, input=say("hi"), stream_mode="updates")),
    ),
    ("runs.create + runs.join", _created_run),
    ("runs.get", lambda c, s: c.runs.get(s["tid"], s["run"]["run_id"])),
    ("runs.list", lambda c, s: c.runs.list(s["tid"])),
    (
        "runs.join_stream (-1)",
        lambda c, s: _collect(c.runs.join_stream(s["tid"], s["run"]["run_id"], last_event_id="-1")),
    ),
    ("runs.create_batch", lambda c, s: c.runs.create_batch([{"assistant_id": AGENT, "input": say("b")}])),
    ("runs.cancel", _cancel),
    ("runs.cancel_many", lambda c, s: c.runs.cancel_many(status="pending")),
    ("runs.delete", lambda c, s: c.runs.delete(s["tid"], s["run"]["run_id"])),
    ("threads.get_state", lambda c, s: c.threads.get_state(s["tid"])),
    ("threads.get_history", lambda c, s: c.threads.get_history(s["tid"], limit=5)),
    (
        "threads.update_state",
        lambda c, s: c.threads.update_state(s["tid"], {"messages": []}, as_node="answer"),
    ),
    ("threads.copy", lambda c, s: c.threads.copy(s["tid"])),
    ("threads.join_stream", _join_thread),
    ("threads.stream (v2 events)", _stream_thread),
    ("crons.create", lambda c, s: c.crons.create(AGENT, schedule="0 9 * * *", input=say("cron"))),
    (
        "crons.create_for_thread",
        lambda c, s: c.crons.create_for_thread(s["tid"], AGENT, schedule="0 9 * * *"),
    ),
    ("crons.search", lambda c, s: c.crons.search()),
    ("crons.count", lambda c, s: c.crons.count()),
    ("crons.update", lambda c, s: c.crons.update(s["cron"]["cron_id"], schedule="0 10 * * *")),
    ("crons.delete", lambda c, s: c.crons.delete(s["cron"]["cron_id"])),
    ("store.put_item", lambda c, s: c.store.put_item(["users", "ada"], "k", {"v": 1})),
    ("store.get_item", lambda c, s: c.store.get_item(["users", "ada"], "k")),
    ("store.search_items", lambda c, s: c.store.search_items(["users"])),
    ("store.list_namespaces", lambda c, s: c.store.list_namespaces()),
    ("store.delete_item", lambda c, s: c.store.delete_item(["users", "ada"], "k")),
    ("threads.prune", lambda c, s: c.threads.prune([s["tid"]])),
    ("threads.delete", lambda c, s: c.threads.delete(s["other"])),
    ("assistants.delete", lambda c, s: c.assistants.delete(s["aid"])),
]


async def check(url: str) -> dict[str, str]:
    """Call every method once; name -> ``ok`` or the error."""
    results: dict[str, str] = {}
    state: dict[str, Any] = {}
    async with get_client(url=url, timeout=30) as client:
        for name, call in CALLS:
            try:
                out = await asyncio.wait_for(call(client, state), 30)
                results[name] = "ok"
            except Exception as exc:  # report, keep going
                text = str(exc).splitlines()[0][:60] if str(exc) else ""
                results[name] = f"{type(exc).__name__}: {text}"
                continue
            if name == "assistants.create":
                state["aid"] = out["assistant_id"]
            elif name == "threads.create":
                state["tid"] = out["thread_id"]
                state["other"] = (await client.threads.create())["thread_id"]
            elif name == "crons.create":
                state["cron"] = out
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-dev", action="store_true", help="do not start langgraph dev")
    args = parser.parse_args()
    columns: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [
            sys.executable, "-m", "uvicorn", "--factory", "sessiongraph.api.app:create_app",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        ]  # fmt: skip
        with process(cmd, base_env(tmp / "api.db"), url, ROOT):
            columns["sessiongraph"] = asyncio.run(check(url))
        if not args.skip_dev:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            config = tmp / "langgraph.json"
            config.write_text(
                f'{{"dependencies": ["{ROOT}"], "graphs": {{"agent": "{ROOT}/graphs/agent.py:graph"}}}}'
            )
            langgraph = Path(sys.executable).with_name("langgraph")
            cmd = [
                str(langgraph),
                "dev",
                "--no-browser",
                "--no-reload",
                "--port",
                str(port),
                "--config",
                str(config),
            ]
            with process(cmd, base_env(tmp / "dev.db"), url, tmp):
                columns["langgraph dev"] = asyncio.run(check(url))
    names = list(columns)
    print(f"| method | {' | '.join(names)} |")
    print(f"|---|{'---|' * len(names)}")
    for method, _ in CALLS:
        print(f"| {method} | {' | '.join(columns[n][method] for n in names)} |")
    for n in names:
        print(f"{n}: {sum(v == 'ok' for v in columns[n].values())}/{len(CALLS)} ok")


if __name__ == "__main__":
    main()
