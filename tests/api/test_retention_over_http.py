"""Checkpoint retention applies to runs made over HTTP, not only to turns of the Python facade."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from apiharness import LiveServer
from langgraph_sdk import get_client
from support.messages import say

KEEP = 4


@pytest.fixture
def pruning_server(make_server: Callable[..., LiveServer], durable_url: str) -> LiveServer:
    """A live server (SQLite or Redis) that keeps only the newest ``KEEP`` checkpoints of each thread."""
    return make_server(durable_url, checkpoint_keep_latest=KEEP)


async def test_http_runs_keep_only_the_newest_checkpoints(pruning_server: LiveServer) -> None:
    client = get_client(url=pruning_server.url)
    try:
        thread_id = (await client.threads.create())["thread_id"]
        await client.runs.wait(thread_id, "agent", input=say("My name is Ada"))
        await client.runs.wait(thread_id, "agent", input=say("what is 12*7 and 3+4?"))
        result = await client.runs.wait(thread_id, "agent", input=say("What is my name?"))

        # Pruning never touches the conversation: all three turns are there, memory works.
        contents = [m["content"] for m in result["messages"] if m["type"] == "human"]
        assert contents == ["My name is Ada", "what is 12*7 and 3+4?", "What is my name?"]
        assert result["messages"][-1]["content"] == "Your name is Ada."

        history = await client.threads.get_history(thread_id, limit=100)
        assert 1 <= len(history) <= KEEP
        # Time travel still works within the kept window: fork from the oldest kept checkpoint.
        oldest = history[-1]["checkpoint"]["checkpoint_id"]
        forked = await client.runs.wait(thread_id, "agent", input=say("hello again"), checkpoint_id=oldest)
        assert forked["messages"][-1]["content"].startswith("You said:")
        assert len(await client.threads.get_history(thread_id, limit=100)) <= KEEP
    finally:
        await client.aclose()
