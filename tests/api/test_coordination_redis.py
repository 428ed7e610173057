"""The Redis coordination parts on a real Redis: lock fairness and leases (one holder killed for
real), the run registry across clients, and the stream broker's ids, replay and close."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis
from support import broker_contract
from support.polling import until

from sessiongraph.api.coordination import RunRecord
from sessiongraph.api.coordination.redis_lock import RedisThreadLock, lock_prefix
from sessiongraph.api.coordination.redis_streams import RedisStreamBroker
from sessiongraph.checkpoints.redis.runs import RedisRunRegistry

DEADLINE_S = 15.0
THREAD = "t-1"

# A holder in another process: takes the lock, says so, then waits until it is killed.
HOLDER = """
import asyncio, sys
from redis.asyncio import Redis
from sessiongraph.api.coordination.redis_lock import RedisThreadLock

async def main():
    lock = RedisThreadLock(Redis.from_url(sys.argv[1]), lease_s=float(sys.argv[3]))
    async with lock.hold(sys.argv[2]):
        print("held", flush=True)
        await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest.fixture
async def clients(redis_flushed_url: str) -> AsyncIterator[Callable[[], Redis]]:
    """A factory of separate Redis clients (one per simulated replica), closed afterwards."""
    made: list[Redis] = []

    def make() -> Redis:
        made.append(Redis.from_url(redis_flushed_url))
        return made[-1]

    yield make
    for client in made:
        await client.aclose()


async def test_lock_serves_waiters_in_arrival_order(clients: Callable[[], Redis]) -> None:
    probe = clients()
    queue = lock_prefix(THREAD) + "q"
    order: list[str] = []

    async def take(lock: RedisThreadLock, name: str) -> None:
        async with lock.hold(THREAD):
            order.append(name)

    first = RedisThreadLock(clients(), lease_s=1.0)
    async with first.hold(THREAD):
        second = asyncio.create_task(take(RedisThreadLock(clients(), lease_s=1.0), "second"))
        await until(lambda: _is(probe.llen(queue), 2), "the second waiter")
        third = asyncio.create_task(take(RedisThreadLock(clients(), lease_s=1.0), "third"))
        await until(lambda: _is(probe.llen(queue), 3), "the third waiter")
        assert not second.done() and not third.done() and order == []
    async with asyncio.timeout(DEADLINE_S):
        await asyncio.gather(second, third)
    assert order == ["second", "third"]
    assert await probe.exists(queue) == 0


async def test_lease_is_renewed_while_held(clients: Callable[[], Redis]) -> None:
    probe = clients()
    lock = RedisThreadLock(clients(), lease_s=1.0)
    async with lock.hold(THREAD):
        token = (await probe.lindex(lock_prefix(THREAD) + "q", 0)).decode()
        lease = f"{lock_prefix(THREAD)}lease:{token}"
        seen = [await probe.pttl(lease)]

        async def renewed() -> bool:
            seen.append(await probe.pttl(lease))
            return seen[-1] > seen[-2]

        await until(renewed, "a renewal of the lease")
        assert all(0 < ttl <= 1000 for ttl in seen)
    assert await probe.exists(lease) == 0


async def test_a_killed_holder_is_reaped_when_its_lease_lapses(
    clients: Callable[[], Redis], redis_flushed_url: str
) -> None:
    probe = clients()
    queue = lock_prefix(THREAD) + "q"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, redis_flushed_url, THREAD, "1.0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert (await asyncio.to_thread(holder.stdout.readline)).strip() == "held"  # type: ignore[union-attr]
        dead = (await probe.lindex(queue, 0)).decode()
        os.kill(holder.pid, signal.SIGKILL)
        await asyncio.to_thread(holder.wait, DEADLINE_S)
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.stdout.close()  # type: ignore[union-attr]
    lease = f"{lock_prefix(THREAD)}lease:{dead}"
    assert 0 < await probe.pttl(lease) <= 1000
    lock = RedisThreadLock(clients(), lease_s=1.0)
    async with asyncio.timeout(DEADLINE_S), lock.hold(THREAD):
        assert await probe.exists(lease) == 0
        assert await probe.llen(queue) == 1 and await probe.lindex(queue, 0) != dead.encode()


async def _is(value: Awaitable[int], wanted: int) -> bool:
    return await value == wanted


def _run(run_id: str, status: str = "success", thread_id: str = THREAD) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        thread_id=thread_id,
        assistant_id="agent",
        status=status,  # type: ignore[arg-type]
        created_at=1.0,
        updated_at=1.0,
        metadata={"m": 1},
        kwargs={"input": {"x": [1, 2]}},
        multitask_strategy="enqueue",
        result=b'{"messages":[]}',
    )


async def test_registry_is_shared_and_keeps_the_newest(clients: Callable[[], Redis]) -> None:
    a, b = RedisRunRegistry(clients(), keep_per_thread=3), RedisRunRegistry(clients(), keep_per_thread=3)
    await a.put(_run("r0", "running"))
    for i in range(1, 5):
        await a.put(_run(f"r{i}"))
    assert [r.run_id for r in await b.of_thread(THREAD, limit=10)] == ["r4", "r3", "r2", "r0"]
    assert [r.run_id for r in await b.active(THREAD)] == ["r0"]
    assert await b.get("r1") is None and await b.get("r4") == _run("r4")
    assert [r.run_id for r in await b.of_thread(THREAD, limit=1, offset=1, status="success")] == ["r3"]
    await b.put(_run("r0", "interrupted"))  # finished now, and the oldest beyond 3: dropped
    assert await a.active(THREAD) == [] and await a.get("r0") is None
    assert [r.run_id for r in await a.of_thread(THREAD)] == ["r4", "r3", "r2"]
    assert await b.delete("r2") and not await b.delete("r2")
    await a.delete_thread(THREAD)
    assert await b.of_thread(THREAD) == [] and await b.get("r4") is None


async def test_broker_ids_replay_and_close_across_clients(clients: Callable[[], Redis]) -> None:
    publisher = RedisStreamBroker(clients(), heartbeat=0.05)
    reader = RedisStreamBroker(clients(), heartbeat=0.05)
    await broker_contract.replays_and_closes_across(publisher, reader, DEADLINE_S)


async def test_broker_heartbeats_while_silent(clients: Callable[[], Redis]) -> None:
    await broker_contract.heartbeats_while_silent(RedisStreamBroker(clients(), heartbeat=0.02))
