"""Bounded sessions over HTTP: thread stats, prune, thread TTL (and its sweeper), thread metrics."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import httpx
import pytest
from apiharness import AGENT, LiveServer, block_run
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from support.messages import say

from sessiongraph.api.run_manager import RunManager
from sessiongraph.sessions import Sessions

KEYS = {"key-alice": "alice", "key-bob": "bob"}
SWEEPER_TASK = "sessiongraph-ttl-sweeper"
T = TypeVar("T")


async def on_server(live: LiveServer, call: Callable[[Sessions], Awaitable[T]]) -> T:
    """Run ``call(sessions)`` on the server's own event loop (where its connections live)."""
    loop = live.server.servers[0].get_loop()
    sessions = live.server.config.app.state.services.sessions
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(call(sessions), loop))


def live_runs(live: LiveServer) -> RunManager:
    """The server's run manager."""
    return live.server.config.app.state.services.manager


async def server_task_names(live: LiveServer) -> set[str]:
    """Names of the asyncio tasks alive on the server's loop."""

    async def names(_: Sessions) -> set[str]:
        return {task.get_name() for task in asyncio.all_tasks()}

    return await on_server(live, names)


async def stats(client: LangGraphClient, tid: str) -> dict[str, Any]:
    """``GET /threads/{tid}/stats`` through the SDK's HTTP client."""
    return await client.http.get(f"/threads/{tid}/stats")


async def test_stats_after_a_few_turns(server: LiveServer, client: LangGraphClient) -> None:
    tid = (await client.threads.create())["thread_id"]
    for text in ("My name is Ada", "12*7 and 3+4", "What is my name?"):
        await client.runs.wait(tid, AGENT, input=say(text))
    state = await client.threads.get_state(tid)
    history = await client.threads.get_history(tid, limit=1000)
    got = await stats(client, tid)
    assert set(got) == {
        "thread_id",
        "messages",
        "prompt_tokens",
        "budget_tokens",
        "budget_share",
        "summary_chars",
        "summary_tokens",
        "summarized_messages",
        "checkpoints",
        "bytes_stored",
        "archived_items",
        "pinned_items",
    }
    assert got["thread_id"] == tid
    assert got["messages"] == len(state["values"]["messages"]) >= 6
    assert got["checkpoints"] == len(history) > 0
    assert got["bytes_stored"] > 0
    assert got["prompt_tokens"] > 0 and got["budget_tokens"] > 0
    assert 0 < got["budget_share"] <= 1
    assert got["summarized_messages"] == 0
    async with httpx.AsyncClient(base_url=server.url) as http:
        missing = await http.get(f"/threads/{uuid.uuid4()}/stats")
        assert missing.status_code == 404 and "not found" in missing.json()["detail"]
        bad = await http.get("/threads/not-a-uuid/stats")
        assert bad.status_code == 422 and "thread_id" in bad.json()["detail"]


async def test_stats_and_prune_are_scoped_to_the_owner(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(api_keys=KEYS)
    alice = get_client(url=server.url, api_key="key-alice")
    bob = get_client(url=server.url, api_key="key-bob")
    try:
        tid = (await alice.threads.create())["thread_id"]
        await alice.runs.wait(tid, AGENT, input=say("hello"))
        assert (await stats(alice, tid))["messages"] == 2
        with pytest.raises(httpx.HTTPStatusError) as hidden:
            await stats(bob, tid)
        assert hidden.value.response.status_code == 404
        assert await bob.threads.prune([tid]) == {"pruned_count": 0}
        assert await bob.threads.prune([tid], strategy="keep_latest") == {"pruned_count": 0}
        assert (await alice.threads.get(tid))["thread_id"] == tid
        assert len(await alice.threads.get_history(tid, limit=100)) > 1
        assert await alice.threads.prune([tid]) == {"pruned_count": 1}
        with pytest.raises(httpx.HTTPStatusError) as gone:
            await alice.threads.get(tid)
        assert gone.value.response.status_code == 404
    finally:
        await alice.aclose()
        await bob.aclose()


async def test_prune_delete_removes_threads_and_counts_them(sqlite_client: LangGraphClient) -> None:
    first = (await sqlite_client.threads.create())["thread_id"]
    second = (await sqlite_client.threads.create())["thread_id"]
    kept = (await sqlite_client.threads.create())["thread_id"]
    await sqlite_client.runs.wait(first, AGENT, input=say("hello"))
    result = await sqlite_client.threads.prune([first, second, first, str(uuid.uuid4())])
    assert result == {"pruned_count": 2}
    for tid in (first, second):
        with pytest.raises(httpx.HTTPStatusError) as gone:
            await sqlite_client.threads.get(tid)
        assert gone.value.response.status_code == 404
        with pytest.raises(httpx.HTTPStatusError) as no_runs:
            await sqlite_client.runs.list(tid)
        assert no_runs.value.response.status_code == 404
    assert [t["thread_id"] for t in await sqlite_client.threads.search()] == [kept]
    assert await sqlite_client.threads.prune([]) == {"pruned_count": 0}


async def test_prune_keep_latest_keeps_the_thread_usable(sqlite_client: LangGraphClient) -> None:
    tid = (await sqlite_client.threads.create())["thread_id"]
    await sqlite_client.runs.wait(tid, AGENT, input=say("My name is Ada"))
    await sqlite_client.runs.wait(tid, AGENT, input=say("12*7 and 3+4"))
    before = await sqlite_client.threads.get_state(tid)
    checkpoints_before = (await stats(sqlite_client, tid))["checkpoints"]
    assert len(await sqlite_client.threads.get_history(tid, limit=1000)) == checkpoints_before > 1

    assert await sqlite_client.threads.prune([tid], strategy="keep_latest") == {"pruned_count": 1}

    history = await sqlite_client.threads.get_history(tid, limit=1000)
    assert len(history) == 1 and history[0]["parent_checkpoint"] is None
    after = await sqlite_client.threads.get_state(tid)
    assert after["values"] == before["values"]
    assert after["checkpoint"]["checkpoint_id"] == before["checkpoint"]["checkpoint_id"]
    assert (await stats(sqlite_client, tid))["checkpoints"] == 1
    final = await sqlite_client.runs.wait(tid, AGENT, input=say("What is my name?"))
    assert final["messages"][-1]["content"] == "Your name is Ada."
    assert (await sqlite_client.threads.get(tid))["status"] == "idle"


async def test_prune_skips_a_thread_with_an_active_run(
    sqlite_server: LiveServer, sqlite_client: LangGraphClient
) -> None:
    busy = (await sqlite_client.threads.create())["thread_id"]
    idle = (await sqlite_client.threads.create())["thread_id"]
    run = await block_run(sqlite_client, sqlite_server, busy)
    assert await sqlite_client.threads.prune([busy, idle]) == {"pruned_count": 1}
    assert (await sqlite_client.threads.get(busy))["status"] == "busy"
    sqlite_server.model.release()
    await sqlite_client.runs.join(busy, run["run_id"])
    assert (await sqlite_client.runs.get(busy, run["run_id"]))["status"] == "success"
    assert await sqlite_client.threads.prune([busy]) == {"pruned_count": 1}


async def test_prune_rejects_a_bad_request(sqlite_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=sqlite_server.url) as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        bad = await http.post("/threads/prune", json={"thread_ids": [tid], "strategy": "archive"})
        assert bad.status_code == 422
        assert "'delete' or 'keep_latest'" in bad.json()["detail"]
        not_uuid = await http.post("/threads/prune", json={"thread_ids": ["nope"]})
        assert not_uuid.status_code == 422 and "thread_ids" in not_uuid.json()["detail"]
        no_ids = await http.post("/threads/prune", json={})
        assert no_ids.status_code == 422 and "thread_ids" in no_ids.json()["detail"]
        assert (await http.get(f"/threads/{tid}")).status_code == 200


async def test_ttl_on_create_and_patch(sqlite_server: LiveServer, sqlite_client: LangGraphClient) -> None:
    thread = await sqlite_client.threads.create(ttl={"strategy": "delete", "ttl": 30})
    tid = thread["thread_id"]
    assert "ttl" not in thread and "ttl" not in await sqlite_client.threads.get(tid)
    ttl = (await sqlite_client.threads.get(tid, include=["ttl"]))["ttl"]
    assert ttl["strategy"] == "delete" and ttl["ttl_minutes"] == 30
    assert 29 * 60 < datetime.fromisoformat(ttl["expires_at"]).timestamp() - time.time() <= 30 * 60

    patched = await sqlite_client.threads.update(tid, metadata={"topic": "ttl"}, ttl=5)
    assert patched["metadata"]["topic"] == "ttl"
    assert (await sqlite_client.threads.get(tid, include=["ttl"]))["ttl"]["ttl_minutes"] == 5
    async with httpx.AsyncClient(base_url=sqlite_server.url) as http:
        cleared = await http.patch(f"/threads/{tid}", json={"ttl": None})
        assert cleared.status_code == 200, cleared.text
        assert "ttl" not in (await http.get(f"/threads/{tid}", params={"include": "ttl"})).json()
        untouched = await http.patch(f"/threads/{tid}", json={"metadata": {"n": 1}, "ttl": 7.5})
        assert untouched.status_code == 200
        assert (await http.patch(f"/threads/{tid}", json={"metadata": {"n": 2}})).status_code == 200
        kept = (await http.get(f"/threads/{tid}", params={"include": "ttl"})).json()["ttl"]
        assert kept["ttl_minutes"] == 7.5

        for body in ({"strategy": "keep_latest", "ttl": 5}, {"ttl": 0}, -3, {"strategy": "delete"}):
            created = await http.post("/threads", json={"ttl": body})
            assert created.status_code == 422, created.text
            assert "ttl" in created.json()["detail"]
            patch = await http.patch(f"/threads/{tid}", json={"ttl": body})
            assert patch.status_code == 422, patch.text
        strategy = await http.post("/threads", json={"ttl": {"strategy": "keep_latest", "ttl": 5}})
        assert "'delete'" in strategy.json()["detail"]
    assert await sqlite_client.threads.count() == 1


async def test_threads_past_their_ttl_are_swept(
    sqlite_server: LiveServer, sqlite_client: LangGraphClient
) -> None:
    assert SWEEPER_TASK in await server_task_names(sqlite_server)
    expiring = (await sqlite_client.threads.create(ttl=1))["thread_id"]
    lasting = (await sqlite_client.threads.create())["thread_id"]
    await sqlite_client.runs.wait(expiring, AGENT, input=say("hello"))

    now = await on_server(sqlite_server, lambda sessions: sessions.sweep_expired())
    assert now == []
    later = time.time() + 120
    runs = live_runs(sqlite_server)
    assert len(await on_server(sqlite_server, lambda _: runs.list_runs(expiring))) == 1
    swept = await on_server(sqlite_server, lambda sessions: sessions.sweep_expired(at=later))
    assert swept == [expiring]
    # The API forgets the swept thread's run records too.
    assert await on_server(sqlite_server, lambda _: runs.list_runs(expiring)) == []
    with pytest.raises(httpx.HTTPStatusError) as gone:
        await sqlite_client.threads.get(expiring)
    assert gone.value.response.status_code == 404
    assert (await sqlite_client.threads.get(lasting))["thread_id"] == lasting


async def test_metrics_count_threads_and_queued_runs(
    sqlite_server: LiveServer, sqlite_client: LangGraphClient
) -> None:
    busy = (await sqlite_client.threads.create())["thread_id"]
    await sqlite_client.threads.create()
    first = await block_run(sqlite_client, sqlite_server, busy)
    second = await sqlite_client.runs.create(busy, AGENT, input=say("hello"))
    async with httpx.AsyncClient(base_url=sqlite_server.url) as http:
        metrics = (await http.get("/metrics")).text
        assert 'sessiongraph_threads{status="busy"} 1.0' in metrics
        assert 'sessiongraph_threads{status="idle"} 1.0' in metrics
        assert 'sessiongraph_threads{status="error"} 0.0' in metrics
        assert "sessiongraph_active_runs 1.0" in metrics
        assert "sessiongraph_queued_runs 1.0" in metrics
        sqlite_server.model.release()
        await sqlite_client.runs.join(busy, second["run_id"])
        assert (await sqlite_client.runs.get(busy, first["run_id"]))["status"] == "success"
        metrics = (await http.get("/metrics")).text
        assert 'sessiongraph_threads{status="idle"} 2.0' in metrics
        assert 'sessiongraph_threads{status="busy"} 0.0' in metrics
        assert "sessiongraph_queued_runs 0.0" in metrics
