"""Smoke test: the Valkey test server really supports langgraph-checkpoint-redis."""

from __future__ import annotations

import operator
import uuid
from typing import Annotated, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.redis.aio import AsyncRedisSaver
from langgraph.graph import START, StateGraph


class _State(TypedDict):
    items: Annotated[list[str], operator.add]


def _append(state: _State) -> dict[str, list[str]]:
    return {"items": [f"seen-{len(state['items'])}"]}


async def test_async_redis_saver_round_trip(redis_url: str) -> None:
    builder = StateGraph(_State)
    builder.add_node("append", _append)
    builder.add_edge(START, "append")

    async with AsyncRedisSaver.from_conn_string(redis_url) as saver:
        await saver.asetup()  # idempotent; from_conn_string already ran it
        graph = builder.compile(checkpointer=saver)
        config: RunnableConfig = {"configurable": {"thread_id": f"harness-{uuid.uuid4()}"}}

        await graph.ainvoke({"items": ["a"]}, config)
        result = await graph.ainvoke({"items": ["b"]}, config)

        expected = ["a", "seen-1", "b", "seen-3"]
        assert result["items"] == expected

        # Latest checkpoint via the pointer key + JSON.GET (RedisJSON).
        latest = await saver.aget_tuple(config)
        assert latest is not None
        assert latest.checkpoint["channel_values"]["items"] == expected

        # History via FT.SEARCH (RediSearch): input + loop checkpoints for both runs.
        history = [c async for c in saver.alist(config)]
        assert len(history) >= 4
        assert history[0].checkpoint["id"] == latest.checkpoint["id"]

        await saver.adelete_thread(config["configurable"]["thread_id"])
        assert await saver.aget_tuple(config) is None
