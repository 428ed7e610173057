"""A full disk under a live server on SQLite, simulated with ``PRAGMA max_page_count`` on the
server's connections (the file cannot grow past its current size).

The turn that cannot be written fails and is rolled back (the thread keeps its last good turn),
the run reports the error, other writes answer 507 with a detail saying what to do, reads still
work, and once space is back the next turn works. The file passes ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from apiharness import AGENT, BLOCK_TIMEOUT_S, LiveServer
from langgraph_sdk import get_client
from support.messages import contents, say
from support.polling import until

LOTS_OF_PAGES = 1_000_000_000
LEASE_S = 1.0


def _connections(server: LiveServer) -> list[Any]:
    backend = server.server.config.app.state.services.sessions.backend
    return [backend.checkpointer.conn, backend.store.conn, backend.registry.conn, backend.runs.conn]


async def _disk_full(server: LiveServer, full: bool) -> None:
    """Cap the file at its current size (``full``), or lift the cap."""
    if full:  # no free pages either: every new row needs a new page
        await _connections(server)[0].executescript("PRAGMA incremental_vacuum;")
    for conn in _connections(server):
        if not full:
            await conn.execute(f"PRAGMA max_page_count = {LOTS_OF_PAGES}")
            continue
        async with conn.execute("PRAGMA page_count") as cursor:
            (count,) = await cursor.fetchone()
        await conn.execute(f"PRAGMA max_page_count = {count}")


async def test_a_full_disk_rolls_the_turn_back_and_answers_507(
    make_server: Callable[..., LiveServer], sqlite_url: str
) -> None:
    server = make_server(sqlite_url, worker_lease_s=LEASE_S)
    sdk = get_client(url=server.url, api_key=None)
    thread_id = (await sdk.threads.create())["thread_id"]
    await sdk.runs.wait(thread_id, AGENT, input=say("My name is Ada"))
    before = contents((await sdk.threads.get_state(thread_id))["values"])
    big = "x" * 20_000
    run = await sdk.runs.create(thread_id, AGENT, input=say(f"BLOCK here {big}"))
    assert await asyncio.to_thread(server.model.entered.wait, BLOCK_TIMEOUT_S)

    await _disk_full(server, True)
    server.model.release()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        joined = await http.get(f"/threads/{thread_id}/runs/{run['run_id']}/join")
        assert joined.status_code == 200 and "full" in joined.json()["__error__"]["message"]
        created = await http.post("/threads", json={"metadata": {"note": big * 10}})
        assert created.status_code == 507 and created.headers["retry-after"]
        assert "full" in created.json()["detail"]
        state = await http.get(f"/threads/{thread_id}/state")
        assert state.status_code == 200 and contents(state.json()["values"]) == before
        assert (await http.get(f"/threads/{thread_id}/runs/{run['run_id']}")).json()["status"] == "error"

    await _disk_full(server, False)

    async def recorded() -> bool:
        stored = await sdk.runs.get(thread_id, run["run_id"])
        thread = await sdk.threads.get(thread_id)
        return stored["status"] == "error" and thread["status"] != "busy"

    await until(recorded, "the failed run to be stored", timeout_s=30, interval_s=0.1)
    assert contents((await sdk.threads.get_state(thread_id))["values"]) == before
    result = await sdk.runs.wait(thread_id, AGENT, input=say("What is my name?"))
    assert contents(result)[-1] == "Your name is Ada."
    with sqlite3.connect(Path(sqlite_url.removeprefix("sqlite:///"))) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    await sdk.aclose()
