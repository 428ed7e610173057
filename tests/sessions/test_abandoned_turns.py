"""A turn a dead process left behind is finished by the lifecycle (``Sessions.abandon_turn``):
rolled back to the checkpoint it started from, thread marked ``error``, housekeeping applied
(on Redis, keys written mid-turn get the thread's TTL)."""

from __future__ import annotations

from langchain_core.messages import HumanMessage

from sessiongraph import Sessions
from sessiongraph.checkpoints.redis.keys import thread_keys
from sessiongraph.lifecycle import thread_config
from sessiongraph.settings import Settings


def contents(values: dict) -> list[str]:  # type: ignore[type-arg]
    return [str(m.content) for m in values.get("messages", [])]


async def _half_written_turn(sessions: Sessions, thread_id: str) -> str | None:
    """One good turn, then checkpoints of a turn that never finished; returns its start."""
    await sessions.invoke(thread_id, "My name is Ada")
    head = await sessions.lifecycle.head(thread_id)
    started_from = head["configurable"]["checkpoint_id"] if head else None
    await sessions.backend.registry.set_status(thread_id, "busy")
    await sessions.graph.aupdate_state(thread_config(thread_id), {"messages": [HumanMessage("half")]})
    return started_from


async def test_an_abandoned_turn_is_rolled_back_and_marked_error(backend_url: str) -> None:
    settings = Settings(checkpoint_url=backend_url, model="offline")
    async with Sessions.open(backend_url, settings=settings) as sessions:
        started_from = await _half_written_turn(sessions, "t")
        assert "half" in contents((await sessions.get_state("t")).values)
        assert await sessions.abandon_turn("t", started_from, started=True) == "error"
        assert "half" not in contents((await sessions.get_state("t")).values)
        assert (await sessions.get_thread("t")).status == "error"
        assert (await sessions.invoke("t", "What is my name?"))["messages"][-1].content == "Your name is Ada."


async def test_a_run_that_never_started_leaves_the_thread_as_its_state_says(backend_url: str) -> None:
    settings = Settings(checkpoint_url=backend_url, model="offline")
    async with Sessions.open(backend_url, settings=settings) as sessions:
        await sessions.invoke("t", "hello")
        await sessions.backend.registry.set_status("t", "busy")
        assert await sessions.abandon_turn("t", None, started=False) == "idle"
        assert (await sessions.get_thread("t")).status == "idle"
        assert await sessions.abandon_turn("gone", None, started=True) is None


async def test_keys_written_mid_turn_get_the_thread_ttl(redis_flushed_url: str) -> None:
    settings = Settings(checkpoint_url=redis_flushed_url, model="offline")
    async with Sessions.open(redis_flushed_url, settings=settings) as sessions:
        await sessions.create_thread("t", ttl_minutes=5)
        started_from = await _half_written_turn(sessions, "t")
        saver = sessions.graph.checkpointer
        keys = await thread_keys(saver, "t")  # type: ignore[arg-type]
        assert -1 in {await saver._redis.pttl(k) for k in keys}  # type: ignore[attr-defined]
        await sessions.abandon_turn("t", started_from, started=True)
        keys = await thread_keys(saver, "t")  # type: ignore[arg-type]
        ttls = [t for k in keys if (t := await saver._redis.pttl(k)) != -2]  # type: ignore[attr-defined]
        assert ttls and all(0 < ttl <= 5 * 60_000 for ttl in ttls), ttls
