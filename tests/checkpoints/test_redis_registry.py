"""The Redis thread registry's search index: threads an older release stored are converted."""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from sessiongraph.checkpoints import ThreadQuery, open_backend


async def test_threads_of_an_older_release_are_indexed_on_open(redis_flushed_url: str) -> None:
    client = aioredis.Redis.from_url(redis_flushed_url)
    old = {
        "thread_id": "old",
        "created_at": 1.0,
        "updated_at": 2.0,
        "status": "idle",
        "metadata": {"user": "ada"},
        "owner": "alice",
        "ttl_minutes": 60,
    }
    await client.set("sessiongraph:thread:old", json.dumps(old), ex=3600)
    await client.zadd("sessiongraph:threads", {"old": 2.0})

    async with open_backend(redis_flushed_url) as backend:
        found = await backend.registry.search(ThreadQuery(metadata={"user": "ada"}, owner="alice"))
        assert [t.to_dict() for t in found] == [old]
        assert await backend.registry.count(ThreadQuery(owner="bob")) == 0
    assert 0 < await client.ttl("sessiongraph:thread:old") <= 3600
    assert not await client.exists("sessiongraph:threads")
    await client.aclose()


async def test_a_page_past_the_search_window_still_lists_every_thread(redis_flushed_url: str) -> None:
    async with open_backend(redis_flushed_url) as backend:
        for thread_id in ("a", "b", "c"):
            await backend.registry.create(thread_id)
        everything = await backend.registry.search(ThreadQuery(limit=2**31, sort_order="asc"))
        assert [t.thread_id for t in everything] == ["a", "b", "c"]
