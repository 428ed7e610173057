"""The run records every backend keeps (``Backend.runs``): the same contract on memory, SQLite
and Redis, and on the durable ones they outlive the process that wrote them."""

from __future__ import annotations

import dataclasses
import time

from sessiongraph.checkpoints import open_backend
from sessiongraph.checkpoints.runs import RunRecord, RunStatus


def _run(n: int, thread_id: str = "t", status: RunStatus = "success") -> RunRecord:
    stamp = time.time()
    return RunRecord(
        run_id=f"run-{n:03d}",
        thread_id=thread_id,
        assistant_id="a",
        status=status,
        created_at=stamp,
        updated_at=stamp,
        metadata={"n": n},
        kwargs={"input": {"messages": [{"role": "user", "content": f"turn {n}"}]}},
        multitask_strategy="enqueue",
        result=b'{"ok": true}',
        worker="w1",
        started_from="checkpoint-1",
    )


async def test_run_records_round_trip_and_list_newest_first(backend_url: str) -> None:
    async with open_backend(backend_url) as backend:
        runs = backend.runs
        for n in range(5):
            await runs.put(_run(n, status="running" if n == 4 else "success"))
        await runs.put(_run(9, thread_id="other", status="pending"))
        stored = await runs.get("run-001")
        assert stored is not None
        assert dataclasses.replace(stored, created_at=0, updated_at=0) == dataclasses.replace(
            _run(1), created_at=0, updated_at=0
        )
        listed = await runs.of_thread("t", limit=3, offset=1)
        assert [r.run_id for r in listed] == ["run-003", "run-002", "run-001"]
        assert [r.run_id for r in await runs.of_thread("t", status="running")] == ["run-004"]
        assert [r.run_id for r in await runs.active("t")] == ["run-004"]
        assert sorted(r.run_id for r in await runs.all_active()) == ["run-004", "run-009"]

        finished = dataclasses.replace(_run(4), status="error", error={"error": "E", "message": "m"})
        await runs.put(finished)
        assert (await runs.get("run-004")).error == {"error": "E", "message": "m"}  # type: ignore[union-attr]
        assert [r.run_id for r in await runs.all_active()] == ["run-009"]
        assert [r.run_id for r in (await runs.of_thread("t", limit=1))] == ["run-004"]  # order kept

        assert await runs.delete("run-000") and not await runs.delete("run-000")
        await runs.delete_thread("t")
        assert await runs.of_thread("t") == [] and await runs.get("run-001") is None


async def test_run_records_survive_a_reopen(sqlite_url: str) -> None:
    async with open_backend(sqlite_url) as backend:
        await backend.runs.put(_run(1, status="running"))
    async with open_backend(sqlite_url) as backend:
        again = await backend.runs.get("run-001")
        assert again is not None and again.status == "running" and again.started_from == "checkpoint-1"
        assert [r.run_id for r in await backend.runs.all_active()] == ["run-001"]
