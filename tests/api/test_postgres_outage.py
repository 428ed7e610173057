"""PostgreSQL down under a live server (sessions and coordination on it): requests get a 503
that names the store, never a 500; the process stays up, and when PostgreSQL is back the server
is ready again by itself and the conversation goes on where it was."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from apiharness import AGENT, LiveServer
from langgraph_sdk import get_client
from support.messages import contents, say
from support.polling import until
from support.postgres_server import PostgresServer


async def test_an_outage_answers_503_and_the_server_recovers(
    own_postgres: PostgresServer, make_server: Callable[..., LiveServer]
) -> None:
    server = make_server(own_postgres.url, coordination_url=None)
    async with get_client(url=server.url) as sdk, httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        thread_id = (await sdk.threads.create())["thread_id"]
        await sdk.runs.wait(thread_id, AGENT, input=say("My name is Ada"))

        own_postgres.halt()
        try:
            answers = [
                await http.get(f"/threads/{thread_id}"),
                await http.post("/threads", json={}),
                await http.post(f"/threads/{thread_id}/runs/wait", json={"assistant_id": AGENT, **say("hi")}),
            ]
            for answer in answers:
                assert answer.status_code == 503, answer.text
                assert "PostgreSQL" in answer.json()["detail"]
                assert "Retry-After" in answer.headers
            assert (await http.get("/ok")).status_code == 200
            assert (await http.get("/ready")).status_code == 503
        finally:
            own_postgres.resume()

        async def ready() -> bool:
            return (await http.get("/ready")).status_code == 200

        await until(ready, "the server to be ready again", timeout_s=60, interval_s=0.2)
        result = await sdk.runs.wait(thread_id, AGENT, input=say("What is my name?"))
        assert contents(result)[-1] == "Your name is Ada."
        assert (await sdk.threads.get(thread_id))["status"] == "idle"
