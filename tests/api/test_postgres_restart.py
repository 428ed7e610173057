"""Two replicas on a PostgreSQL of their own (sessions and coordination, no Redis) while it
restarts: both come back by themselves (``/ready``), and the shared lock, stream join and
cancel bus work across them afterwards, with no traceback from the coordination logged."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest
from apiharness import AGENT, LiveServer, block_run
from langgraph_sdk import get_client
from langgraph_sdk.errors import ConflictError
from support.messages import contents, say
from support.polling import until
from support.postgres_server import PostgresServer

RECOVERY_TIMEOUT_S = 30.0


async def test_replicas_on_postgres_alone_outlive_a_restart(
    own_postgres: PostgresServer, make_server: Callable[..., LiveServer], caplog: pytest.LogCaptureFixture
) -> None:
    """(``own_postgres`` first: it is set up before the servers and stopped after them.)"""
    caplog.set_level(logging.INFO, logger="sessiongraph.api.coordination")
    url = own_postgres.url
    a, b = (make_server(url, coordination_url=None, worker_lease_s=1.0) for _ in range(2))
    async with get_client(url=a.url) as sdk_a, get_client(url=b.url) as sdk_b:
        thread_id = (await sdk_a.threads.create())["thread_id"]
        await sdk_a.runs.wait(thread_id, AGENT, input=say("My name is Ada"))

        own_postgres.restart()

        async def ready() -> bool:
            async with httpx.AsyncClient(timeout=5) as http:
                answers = [await http.get(f"{live.url}/ready") for live in (a, b)]
            return all(answer.status_code == 200 for answer in answers)

        await until(ready, "both replicas to be ready again", timeout_s=RECOVERY_TIMEOUT_S, interval_s=0.1)

        run = await block_run(sdk_a, a, thread_id, stream_resumable=True)
        with pytest.raises(ConflictError):
            await sdk_b.runs.create(thread_id, AGENT, input=say("hi"), multitask_strategy="reject")
        joined = sdk_b.runs.join_stream(thread_id, run["run_id"], last_event_id="0")
        assert (await anext(joined)).event == "metadata"
        await sdk_b.runs.cancel(thread_id, run["run_id"], wait=True)
        assert (await sdk_a.runs.get(thread_id, run["run_id"]))["status"] == "interrupted"
        result = await sdk_b.runs.wait(thread_id, AGENT, input=say("What is my name?"))
        assert contents(result)[-1] == "Your name is Ada."

    ours = [r for r in caplog.records if r.name.startswith("sessiongraph.api.coordination")]
    assert any("LISTEN connection restored" in r.getMessage() for r in ours)
    assert not [r for r in ours if r.exc_info], "the coordination logs no traceback for a restart"
