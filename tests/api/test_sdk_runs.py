"""The runs client's bulk and rejoin methods: create_batch, cancel_many, join_stream with
``Last-Event-ID`` (``-1`` replays from the start, also after the run ended; an id this server
never sent replays nothing), on SQLite and Redis."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from apiharness import AGENT, LiveServer, block_run
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from support.messages import say
from support.polling import until


async def test_create_batch_runs_each_body(client: LangGraphClient) -> None:
    runs = await client.runs.create_batch(
        [{"assistant_id": AGENT, "input": say(f"hello {i}"), "on_completion": "keep"} for i in range(3)]
    )
    assert len({r["thread_id"] for r in runs}) == 3 and all(
        r["status"] in ("pending", "running") for r in runs
    )
    for run in runs:
        result = await client.runs.join(run["thread_id"], run["run_id"])
        assert result["messages"][-1]["content"].startswith("You said")


async def test_cancel_many_by_ids_and_by_status(client: LangGraphClient, server: LiveServer) -> None:
    tid = (await client.threads.create())["thread_id"]
    first = await block_run(client, server, tid)
    queued = await client.runs.create(tid, AGENT, input=say("queued"), multitask_strategy="enqueue")
    await client.runs.cancel_many(thread_id=tid, run_ids=[queued["run_id"]])
    assert (await client.runs.get(tid, queued["run_id"]))["status"] == "interrupted"
    await client.runs.cancel_many(status="running")

    async def stopped() -> bool:
        return (await client.runs.get(tid, first["run_id"]))["status"] == "interrupted"

    await until(stopped, "the running run to be cancelled")
    with pytest.raises(httpx.HTTPStatusError) as both:
        await client.http.post("/runs/cancel", json={"status": "all", "thread_id": tid})
    assert both.value.response.status_code == 422


async def test_join_stream_replays_a_finished_resumable_run(client: LangGraphClient) -> None:
    tid = (await client.threads.create())["thread_id"]
    live = [
        p
        async for p in client.runs.stream(
            tid, AGENT, input=say("hi"), stream_mode="updates", stream_resumable=True
        )
    ]
    run_id = live[0].data["run_id"]
    replay = [p async for p in client.runs.join_stream(tid, run_id, last_event_id="-1")]
    assert [(p.event, p.data) for p in replay] == [(p.event, p.data) for p in live]
    assert replay[-1].event == "end"
    tail = [p async for p in client.runs.join_stream(tid, run_id, last_event_id="2")]
    assert [(p.event, p.data) for p in tail] == [(p.event, p.data) for p in live[2:]]
    # An id this server never sent replays nothing (no 422).
    assert [p async for p in client.runs.join_stream(tid, run_id, last_event_id="abc-not-ours")] == []


async def test_durability_exit_writes_one_checkpoint_per_run(client: LangGraphClient) -> None:
    async def checkpoints_after(durability: str | None, **extra: object) -> int:
        tid = (await client.threads.create())["thread_id"]
        options = {"durability": durability} if durability else {}
        result = await client.runs.wait(tid, AGENT, input=say("hi"), **options, **extra)  # type: ignore[arg-type]
        assert result["messages"][-1]["content"].startswith("You said")
        return len(await client.threads.get_history(tid, limit=100))

    stepwise = await checkpoints_after(None)
    assert stepwise > 2  # the input, then one checkpoint per step
    assert await checkpoints_after("sync") == stepwise
    assert await checkpoints_after("exit") == 1
    # The older field means the same, and the run shows what it ran with.
    tid = (await client.threads.create())["thread_id"]
    run = await client.http.post(
        f"/threads/{tid}/runs", json={"assistant_id": AGENT, "input": say("hi"), "checkpoint_during": False}
    )
    await client.runs.join(tid, run["run_id"])
    assert len(await client.threads.get_history(tid)) == 1
    assert (await client.runs.get(tid, run["run_id"]))["kwargs"]["durability"] == "exit"
    with pytest.raises(httpx.HTTPStatusError) as bad:
        await client.http.post(
            f"/threads/{tid}/runs/wait", json={"assistant_id": AGENT, "durability": "never"}
        )
    assert bad.value.response.status_code == 422
    assert "durability" in bad.value.response.text


async def test_the_server_default_durability_applies_to_runs_that_ask_for_none(
    make_server: Callable[..., LiveServer], sqlite_url: str
) -> None:
    server = make_server(sqlite_url, durability="exit")
    async with get_client(url=server.url) as client:
        tid = (await client.threads.create())["thread_id"]
        run = await client.runs.create(tid, AGENT, input=say("hi"))
        await client.runs.join(tid, run["run_id"])
        assert len(await client.threads.get_history(tid)) == 1
        assert (await client.runs.get(tid, run["run_id"]))["kwargs"]["durability"] == "exit"
        await client.runs.wait(tid, AGENT, input=say("again"), durability="async")
        assert len(await client.threads.get_history(tid, limit=100)) > 3
