"""What a server stores must come back (issue 13): values that cannot be stored exactly, invalid
run options and requests over the server's maximums answer 422 with a detail, and write nothing.
Stateless runs leave nothing behind."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from apiharness import AGENT, LiveServer
from support.messages import say

ALICE = {"x-api-key": "key-alice", "content-type": "application/json"}
DEEP = '{"a":' * 80 + "1" + "}" * 80

UNSTORABLE = {
    "integer beyond 64 bits": ("123456789012345678901234567890", "integer beyond 64 bits"),
    "NaN": ("NaN", "NaN and Infinity"),
    "Infinity": ("-Infinity", "NaN and Infinity"),
    "lone surrogate": ('"\\ud800"', "lone surrogate"),
    "deep nesting": (DEEP, "nested deeper than"),
}
"""Raw JSON values -> what the 422's detail says."""


def bodies(value: str, thread_id: str) -> list[tuple[str, str, str, str]]:
    """(method, path, raw body, path of the value in the detail) putting ``value`` everywhere it is stored."""
    run = f'{{"assistant_id": "{AGENT}", '
    hi = '{"messages": [{"role": "user", "content": "hi"}]}'
    meta = f'{{"k": {value}}}'
    thread = f"/threads/{thread_id}"
    return [
        ("POST", "/threads", f'{{"metadata": {meta}}}', "metadata.k"),
        ("PATCH", thread, f'{{"metadata": {meta}}}', "metadata.k"),
        ("POST", "/threads/search", f'{{"metadata": {meta}}}', "metadata.k"),
        ("POST", "/runs/wait", run + f'"input": {{"messages": [], "x": {value}}}}}', "input.x"),
        ("POST", "/runs/wait", run + f'"input": {hi}, "metadata": {meta}}}', "metadata.k"),
        (
            "POST",
            f"{thread}/runs/wait",
            run + f'"config": {{"configurable": {meta}}}}}',
            "config.configurable.k",
        ),
        ("POST", f"{thread}/runs", run + f'"context": {{"model": {value}}}}}', "context.model"),
        (
            "POST",
            f"{thread}/state",
            f'{{"values": {{"messages": [{{"content": {value}}}]}}}}',
            "values.messages",
        ),
    ]


async def test_unstorable_values_are_refused_with_their_path_and_nothing_breaks(
    make_server: Callable[..., LiveServer],
) -> None:
    server = make_server(api_keys={"key-alice": "alice"})
    async with httpx.AsyncClient(base_url=server.url, headers=ALICE, timeout=30) as http:
        tid = (await http.post("/threads", json={"metadata": {"k": "v"}})).json()["thread_id"]
        assert (
            await http.post(f"/threads/{tid}/runs/wait", json={"assistant_id": AGENT, "input": say("hi")})
        ).is_success
        for name, (value, said) in UNSTORABLE.items():
            for method, path, body, where in bodies(value, tid):
                answer = await http.request(method, path, content=body)
                assert answer.status_code == 422, (name, path, answer.text)
                detail = answer.json()["detail"]
                assert said in detail and where.split("[")[0] in detail, (name, path, detail)
        # Nothing was written, and every read of the owner's data still works.
        assert (await http.post("/threads/count", json={})).json() == 1
        thread = (await http.get(f"/threads/{tid}")).json()
        assert thread["metadata"]["k"] == "v" and thread["status"] == "idle"
        for method, path in (
            ("POST", "/threads/search"),
            ("GET", f"/threads/{tid}/runs"),
            ("GET", f"/threads/{tid}/state"),
            ("POST", f"/threads/{tid}/history"),
        ):
            assert (
                await http.request(method, path, json={} if method == "POST" else None)
            ).status_code == 200
        runs = (await http.get(f"/threads/{tid}/runs")).json()
        assert [r["status"] for r in runs] == ["success"]


INVALID_RUNS: list[tuple[dict[str, Any], str]] = [
    ({"config": {"recursion_limit": 0}}, "config.recursion_limit"),
    ({"config": {"recursion_limit": "5"}}, "config.recursion_limit"),
    ({"config": {"max_concurrency": -1}}, "config.max_concurrency"),
    ({"config": {"tags": [{"a": 1}]}}, "config.tags"),
    ({"config": {"configurable": []}}, "config.configurable"),
    ({"input": "hello"}, "input"),
    ({"input": {"messages": [{"role": "wizard", "content": "hi"}]}}, "input.messages[0] is not a message"),
    ({"input": {"messages": [{"role": "user"}]}}, "input.messages[0] has no content"),
    ({"command": {"goto": "nowhere"}}, "command.goto names no node"),
    ({"command": {"update": 5}}, "command.update"),
    ({"command": {"update": {"messages": [5]}}}, "command.update.messages[0]"),
    ({"config": {"recursion_limit": 1000}}, "max_recursion_limit"),
    ({"context": {"max_replans": 1000}}, "max_replans_limit"),
    ({"context": {"max_tool_rounds": 1000}}, "max_tool_rounds_limit"),
    ({"input": {"messages": [{"role": "user", "content": "x" * 2001}]}}, "max_message_chars"),
    ({"input": {"messages": [{"role": "user", "content": "x"}] * 11}}, "max_input_messages"),
]


async def test_invalid_run_options_and_runs_over_the_maximums_are_422_at_creation(
    make_server: Callable[..., LiveServer],
) -> None:
    server = make_server(max_message_chars=2000, max_input_messages=10)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        for extra, said in INVALID_RUNS:
            body = {"assistant_id": AGENT, "input": say("hi"), **extra}
            if "command" in extra:
                body.pop("input")
            for path in (f"/threads/{tid}/runs/wait", "/runs/wait", "/runs/stream"):
                answer = await http.post(path, json=body)
                assert answer.status_code == 422, (extra, path, answer.text)
                assert said in answer.json()["detail"], (extra, answer.json())
        # No run was made and no stateless thread was left behind.
        assert (await http.get(f"/threads/{tid}/runs")).json() == []
        assert (await http.post("/threads/count", json={})).json() == 1
        fine = await http.post(
            "/runs/wait",
            json={"assistant_id": AGENT, "input": say("12*7"), "config": {"recursion_limit": 60}},
        )
        assert fine.status_code == 200 and "84" in fine.json()["messages"][-1]["content"]


async def test_stateless_runs_leave_no_thread_and_no_run_record(sqlite_server: LiveServer) -> None:
    manager = sqlite_server.server.config.app.state.services.manager
    thread_ids = []
    async with httpx.AsyncClient(base_url=sqlite_server.url, timeout=30) as http:
        for index in range(20):
            answer = await http.post(
                "/runs/wait", json={"assistant_id": AGENT, "input": say(f"turn {index}")}
            )
            assert answer.status_code == 200 and answer.json()["messages"][-1]["content"]
            thread_ids.append(answer.headers["content-location"].split("/")[2])
        async with http.stream(
            "POST", "/runs/stream", json={"assistant_id": AGENT, "input": say("streamed")}
        ) as stream:
            thread_ids.append(stream.headers["content-location"].split("/")[2])
            events = [line async for line in stream.aiter_lines() if line.startswith("event:")]
        assert events[-1] == "event: end"
        assert (await http.post("/threads/count", json={})).json() == 0
    for tid in thread_ids:
        assert await manager.list_runs(tid) == [], tid


async def test_a_refused_stateless_run_leaves_nothing(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(max_concurrent_runs=1, max_queued_runs=0)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        held = await http.post(f"/threads/{tid}/runs", json={"assistant_id": AGENT, "input": say("BLOCK")})
        assert held.status_code == 200
        assert await asyncio.to_thread(server.model.entered.wait, 15)
        refused = await http.post("/runs/wait", json={"assistant_id": AGENT, "input": say("hi")})
        assert refused.status_code == 503
        server.model.release()
        await http.get(f"/threads/{tid}/runs/{held.json()['run_id']}/join")
        assert (await http.post("/threads/count", json={})).json() == 1
