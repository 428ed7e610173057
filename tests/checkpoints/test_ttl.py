"""Thread TTL: swept on memory and SQLite (clock passed in, no waiting), native expiry on Redis."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis
from checkpoint_turns import OpenSessions
from support.polling import until

from sessiongraph import Sessions
from sessiongraph.checkpoints import open_backend
from sessiongraph.checkpoints.expiry import TTLSweeper
from sessiongraph.checkpoints.redis.keys import thread_keys
from sessiongraph.checkpoints.redis.registry import KEY_PREFIX
from sessiongraph.settings import Settings

MINUTE = 60.0


async def test_sweep_deletes_idle_threads_past_their_ttl(open_sessions: OpenSessions) -> None:
    async with open_sessions(thread_ttl_minutes=10) as sessions:
        await sessions.invoke("default-ttl", "hello")
        await sessions.create_thread("short", ttl_minutes=1)
        await sessions.invoke("short", "hello")
        sessions.settings.thread_ttl_minutes = None  # creation already applied the default
        await sessions.create_thread("forever")
        last = max(t.updated_at for t in await sessions.list_threads(limit=10))

        assert await sessions.sweep_expired(at=last + 0.5 * MINUTE) == []
        assert await sessions.sweep_expired(at=last + 2 * MINUTE) == ["short"]
        assert await sessions.get_history("short") == []
        assert sorted(await sessions.sweep_expired(at=last + 11 * MINUTE)) == ["default-ttl"]
        remaining = sorted(t.thread_id for t in await sessions.list_threads())
        assert remaining == ["forever"]


async def test_expiry_listeners_hear_which_threads_were_swept(open_sessions: OpenSessions) -> None:
    heard: list[list[str]] = []

    async def listener(thread_ids: list[str]) -> None:
        heard.append(sorted(thread_ids))

    async with open_sessions() as sessions:
        sessions.on_threads_expired(listener)
        await sessions.create_thread("a", ttl_minutes=1)
        await sessions.create_thread("b", ttl_minutes=1)
        await sessions.create_thread("keep")
        last = max(t.updated_at for t in await sessions.list_threads(limit=10))
        await sessions.sweep_expired(at=last + 2 * MINUTE)
        assert heard == [["a", "b"]]


async def test_activity_and_busy_threads_do_not_expire(open_sessions: OpenSessions) -> None:
    async with open_sessions() as sessions:
        await sessions.create_thread("t", ttl_minutes=1)
        await sessions.invoke("t", "hello")
        updated = (await sessions.get_thread("t")).updated_at
        await sessions.backend.registry.set_status("t", "busy")

        assert await sessions.sweep_expired(at=updated + 5 * MINUTE) == []

        await sessions.backend.registry.set_status("t", "idle")
        touched = (await sessions.get_thread("t")).updated_at
        assert await sessions.sweep_expired(at=touched + 0.9 * MINUTE) == []
        assert await sessions.sweep_expired(at=touched + 1.1 * MINUTE) == ["t"]


async def test_set_thread_ttl_changes_and_clears_the_ttl(open_sessions: OpenSessions) -> None:
    async with open_sessions() as sessions:
        await sessions.invoke("t", "hello")
        info = await sessions.set_thread_ttl("t", 2)
        assert info.ttl_minutes == 2
        assert await sessions.sweep_expired(at=info.updated_at + 3 * MINUTE) == ["t"]

        await sessions.invoke("u", "hello")
        await sessions.set_thread_ttl("u", 2)
        info = await sessions.set_thread_ttl("u", None)
        assert await sessions.sweep_expired(at=info.updated_at + 1_000 * MINUTE) == []
        with pytest.raises(ValueError, match="ttl_minutes"):
            await sessions.set_thread_ttl("u", 0)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_the_background_sweeper_runs_and_stops(kind: str, sqlite_url: str) -> None:
    url = "memory://" if kind == "memory" else sqlite_url
    async with open_backend(url) as backend:
        info = await backend.registry.create("old", ttl_minutes=1)
        info.updated_at = time.time() - 5 * MINUTE
        await backend.registry.save(info)
        await backend.registry.create("fresh", ttl_minutes=1)
        swept = asyncio.Event()
        deleted: list[str] = []

        async def record(ids: list[str]) -> None:
            deleted.extend(ids)
            swept.set()

        sweeper = TTLSweeper(backend, interval_s=0.01, on_sweep=record)
        sweeper.start()
        await asyncio.wait_for(swept.wait(), timeout=10)
        await sweeper.stop()

        assert not sweeper.running
        assert deleted == ["old"]
        assert await backend.registry.get("fresh") is not None


async def test_sessions_open_starts_the_sweeper_when_a_ttl_is_configured(sqlite_url: str) -> None:
    settings = Settings(checkpoint_url=sqlite_url, model="offline", thread_ttl_minutes=5)
    async with Sessions.open(sqlite_url, settings=settings) as sessions:
        assert sessions._sweeper is not None and sessions._sweeper.running
        sweeper = sessions._sweeper
    assert not sweeper.running


# --- Redis: native expiry -----------------------------------------------------------------


async def test_redis_thread_keys_carry_the_thread_ttl(redis_flushed_url: str) -> None:
    settings = Settings(checkpoint_url=redis_flushed_url, model="offline")
    async with Sessions.open(redis_flushed_url, settings=settings) as sessions:
        await sessions.create_thread("t", ttl_minutes=5)
        await sessions.invoke("t", "12*7 and 3+4")
        saver = sessions.graph.checkpointer
        keys = [k for k in [*await thread_keys(saver, "t"), KEY_PREFIX + "t"] if await saver._redis.exists(k)]
        assert len(keys) > 5
        ttls = [await saver._redis.pttl(key) for key in keys]
        assert all(0 < ttl <= 5 * 60_000 for ttl in ttls), ttls

        await sessions.set_thread_ttl("t", None)
        assert {await saver._redis.pttl(key) for key in keys} == {-1}  # persistent again
        assert sessions._sweeper is None  # Redis needs no sweeper


async def test_redis_expires_an_idle_thread_by_itself(redis_flushed_url: str) -> None:
    settings = Settings(checkpoint_url=redis_flushed_url, model="offline")
    async with Sessions.open(redis_flushed_url, settings=settings) as sessions:
        await sessions.create_thread("t", ttl_minutes=1 / 60)  # one second
        await sessions.invoke("t", "hello")
        keys = [*await thread_keys(sessions.graph.checkpointer, "t"), KEY_PREFIX + "t"]
        client = aioredis.Redis.from_url(redis_flushed_url)

        async def expired() -> bool:
            return await client.exists(*keys) == 0

        try:
            # Redis expires the keys on its own clock: poll it, bounded.
            await until(expired, "Redis to expire the thread's keys", timeout_s=10, interval_s=0.1)
            assert await client.exists(*keys) == 0
        finally:
            await client.aclose()
        assert await sessions.backend.registry.get("t") is None
        assert await sessions.get_history("t") == []
