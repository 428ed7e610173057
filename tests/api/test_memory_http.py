"""Memory over HTTP with the langgraph-sdk client: what recall would return, pinning, stats."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from apiharness import AGENT, LiveServer
from langgraph_sdk import get_client
from support.messages import say

SMALL = {"summary_trigger_tokens": 300, "summary_keep_tokens": 120, "summary_max_tokens": 120}
FILLER = "Tell me about rivers, mountains and old maps of the northern coast, number {}."


async def test_recall_pins_and_stats_over_http(make_server: Callable[..., LiveServer]) -> None:
    server = make_server("memory://", api_keys={"key-ada": "ada", "key-bob": "bob"})
    async with get_client(url=server.url, api_key="key-ada") as client:
        tid = (await client.threads.create())["thread_id"]
        for text in ("My daughter's name is Lina.", *(FILLER.format(n) for n in range(5))):
            await client.runs.wait(tid, AGENT, input=say(text), context=SMALL)

        query = {"query": "What is my daughter's name?", "limit": 2}
        memory = await client.http.get(f"/threads/{tid}/memory", params=query)
        assert memory["mode"] == "semantic" and memory["query"] == "What is my daughter's name?"
        assert len(memory["recalled"]) <= 2
        assert memory["recalled"][0]["text"] == "My daughter's name is Lina."
        assert memory["recalled"][0]["turn"] == 1 and memory["recalled"][0]["score"] > 0.5

        pin = await client.http.post(f"/threads/{tid}/memory/pins", json={"text": "Ada is vegetarian."})
        assert pin["reason"] == "api" and pin["text"] == "Ada is vegetarian."
        state = await client.threads.get_state(tid)
        newest = state["values"]["messages"][-1]
        pinned = await client.http.post(f"/threads/{tid}/memory/pins", json={"message_id": newest["id"]})
        assert pinned["message_id"] == newest["id"]

        result = await client.runs.wait(tid, AGENT, input=say("What should I cook tonight?"), context=SMALL)
        assert result["memory"]["pinned"][0]["text"] == "Ada is vegetarian."
        stats = await client.http.get(f"/threads/{tid}/stats")
        assert stats["archived_items"] >= 6 and stats["pinned_items"] == 2
        # The archive lives in the server's own store namespace: the /store routes do not show it.
        listed = await client.store.search_items([], query="my daughter", limit=50)
        assert not any("Lina" in str(item["value"]) for item in listed["items"])

    headers = {"x-api-key": "key-ada"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
        both = await http.post(f"/threads/{tid}/memory/pins", json={"text": "x", "message_id": "y"})
        assert both.status_code == 422 and "exactly one of message_id" in both.text
        missing = await http.post(f"/threads/{tid}/memory/pins", json={"message_id": "nope"})
        assert missing.status_code == 404 and "no message 'nope'" in missing.json()["detail"]
        no_query = await http.get(f"/threads/{tid}/memory")
        assert no_query.status_code == 422 and "query" in no_query.text
        foreign = await http.get(f"/threads/{tid}/memory?query=x", headers={"x-api-key": "key-bob"})
        assert foreign.status_code == 404
