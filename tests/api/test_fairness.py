"""No request may freeze the server or starve other owners (issue 13), against live servers.

- CPU-heavy tool work runs off the event loop: another owner's ``/ok`` answers while a tool is
  provably still running, and the calculator refuses the inputs that used to hold the loop.
- A tool call over its time limit becomes an error result and the run goes on.
- One owner's flood of runs leaves another owner's run served; the owner's cap answers 503.
- Cancelling a run takes effect at once, while its model call is still waiting.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import httpx
from apiharness import AGENT, LiveServer, block_run
from langchain_core.tools import tool
from langgraph_sdk import get_client
from support.messages import say
from support.polling import until

KEYS = {"key-alice": "alice", "key-bob": "bob"}
ALICE = {"x-api-key": "key-alice"}
BOB = {"x-api-key": "key-bob"}

FREEZERS = (
    "what is round(1, -10000000)?",
    "what is 9**9**9?",
    "what is (2**4000)**4000?",
    "compute " + ", ".join(f"{i}*{i}" for i in range(9000)),
)
"""Inputs that once held the event loop for seconds to hours (a calculator working on a huge
integer, a message of thousands of expressions)."""


def spinning_tool() -> tuple[Any, threading.Event, threading.Event]:
    """A tool that burns CPU until released; and its started and release events."""
    started, release = threading.Event(), threading.Event()

    @tool
    def spin(text: str) -> str:
        """Burn CPU until the test lets go."""
        started.set()
        while not release.is_set():
            sum(range(10_000))
        return "spun"

    return spin, started, release


def final_text(values: dict[str, Any]) -> str:
    return str(values["messages"][-1]["content"])


async def test_ok_answers_while_a_tool_burns_cpu_and_freezers_are_refused(
    make_server: Callable[..., LiveServer],
) -> None:
    spin, started, release = spinning_tool()
    server = make_server(api_keys=KEYS, tools=[spin])
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            busy = asyncio.create_task(
                http.post("/runs/wait", json={"assistant_id": AGENT, "input": say("use spin")}, headers=ALICE)
            )
            assert await asyncio.to_thread(started.wait, 15)
            freezers = [
                asyncio.create_task(
                    http.post("/runs/wait", json={"assistant_id": AGENT, "input": say(text)}, headers=ALICE)
                )
                for text in FREEZERS
            ]
            ok = await http.get("/ok", headers=BOB)
            assert ok.status_code == 200
            # The tool cannot have finished: it only stops once released, below.
            assert not busy.done() and not release.is_set()
            answers = await asyncio.gather(*freezers)
            assert not busy.done()
            assert [a.status_code for a in answers] == [200] * len(FREEZERS)
            texts = [final_text(a.json()) for a in answers]
            assert "digits must be an integer within" in texts[0]
            assert "too large" in texts[1] and "too large" in texts[2]
            assert texts[3].count(" = ") == 16  # one bounded batch of tool calls, not 9000
            release.set()
            done = await busy
            assert done.status_code == 200 and "spun" in final_text(done.json())
    finally:
        release.set()


async def test_a_tool_over_its_time_limit_becomes_an_error_result(
    make_server: Callable[..., LiveServer],
) -> None:
    spin, _, release = spinning_tool()
    server = make_server(tools=[spin], tool_timeout_s=0.5)
    try:
        async with get_client(url=server.url) as client:
            values = await client.runs.wait(None, AGENT, input=say("use spin"))
        assert isinstance(values, dict)
        assert "took longer than 0.5 s" in final_text(values)
    finally:
        release.set()


async def test_one_owners_flood_leaves_another_owners_run_served(
    make_server: Callable[..., LiveServer],
) -> None:
    server = make_server(
        api_keys=KEYS, max_concurrent_runs=2, max_running_runs_per_owner=1, max_queued_runs_per_owner=2
    )
    alice = get_client(url=server.url, api_key="key-alice")
    bob = get_client(url=server.url, api_key="key-bob")
    try:
        threads = [(await alice.threads.create())["thread_id"] for _ in range(4)]
        first = await block_run(alice, server, threads[0])
        queued = [await alice.runs.create(t, AGENT, input=say("BLOCK again")) for t in threads[1:3]]
        async with httpx.AsyncClient(base_url=server.url) as http:
            refused = await http.post(
                f"/threads/{threads[3]}/runs",
                json={"assistant_id": AGENT, "input": say("one more")},
                headers=ALICE,
            )
        assert refused.status_code == 503 and refused.headers["retry-after"]
        assert "the most one owner may have" in refused.json()["detail"]
        # Alice holds one slot and waits for her own: Bob's run is served meanwhile.
        bob_thread = (await bob.threads.create())["thread_id"]
        values = await bob.runs.wait(bob_thread, AGENT, input=say("hello from bob"))
        assert isinstance(values, dict) and "hello from bob" in final_text(values)
        assert (await alice.runs.get(threads[0], first["run_id"]))["status"] == "running"
        assert [(await alice.runs.get(r["thread_id"], r["run_id"]))["status"] for r in queued] == [
            "pending",
            "pending",
        ]
        # Cancelling takes effect while the model call is still waiting (nothing released).
        await alice.runs.cancel(threads[0], first["run_id"], wait=True)
        assert (await alice.runs.get(threads[0], first["run_id"]))["status"] == "interrupted"

        async def next_one_runs() -> bool:
            return (await alice.runs.get(threads[1], queued[0]["run_id"]))["status"] == "running"

        await until(next_one_runs, "alice's next run to take her slot")
        server.model.release()
        for run in queued:
            await alice.runs.join(run["thread_id"], run["run_id"])
            assert (await alice.runs.get(run["thread_id"], run["run_id"]))["status"] == "success"
    finally:
        server.model.release()
        await alice.aclose()
        await bob.aclose()
