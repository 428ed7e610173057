"""The PostgreSQL coordination parts on a real Postgres, each "replica" with its own pool and
``LISTEN`` connection: lock fairness and leases (one holder killed for real), wake-ups by
``NOTIFY``, the stream broker's ids, replay, trimming and close across replicas, worker leases
and claims, the cancel bus, and a listener that outlives a Postgres restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool
from support import broker_contract
from support.polling import until
from support.postgres_server import PostgresServer

from sessiongraph.api.coordination.factory import open_postgres_coordination
from sessiongraph.api.coordination.postgres_cancel import PostgresCancelBus
from sessiongraph.api.coordination.postgres_listener import PostgresListener
from sessiongraph.api.coordination.postgres_lock import PostgresThreadLock
from sessiongraph.api.coordination.postgres_streams import PostgresStreamBroker
from sessiongraph.api.coordination.postgres_workers import PostgresWorkers
from sessiongraph.checkpoints.postgres.backend import open_pool, setup_own_tables
from sessiongraph.lifecycle import CancelAction
from sessiongraph.settings import Settings

DEADLINE_S = 15.0
THREAD = "t-1"
QUIET_S = 60.0
"""A poll or heartbeat interval longer than any test: what arrives in time was woken by NOTIFY."""

# A replica in another process: holds the thread and its worker lease, says so, waits to be killed.
HOLDER = """
import asyncio, sys
from sessiongraph.api.coordination.factory import open_postgres_coordination
from sessiongraph.settings import Settings

async def main():
    settings = Settings(checkpoint_url=sys.argv[1], worker_lease_s=float(sys.argv[3]))
    async with open_postgres_coordination(sys.argv[1], settings) as coordination:
        async with coordination.workers.heartbeats(), coordination.lock.hold(sys.argv[2]):
            print(coordination.workers.worker_id, flush=True)
            await asyncio.Event().wait()

asyncio.run(main())
"""


@dataclass
class Replica:
    """The coordination parts of one simulated replica (its own pool and listener)."""

    pool: AsyncConnectionPool[Any]
    listener: PostgresListener
    lock: PostgresThreadLock
    broker: PostgresStreamBroker
    workers: PostgresWorkers
    cancel_bus: PostgresCancelBus


OpenReplica = Callable[..., Awaitable[Replica]]


@pytest.fixture
async def replicas(postgres_clean_url: str) -> AsyncIterator[OpenReplica]:
    """``await replicas(lease_s=1.0, poll_s=None, **broker_options)`` opens a replica on the
    (emptied) test database; all are closed at the end of the test."""
    async with contextlib.AsyncExitStack() as stack:

        async def open_replica(lease_s: float = 1.0, poll_s: float | None = None, **broker: Any) -> Replica:
            pool = await stack.enter_async_context(open_pool(postgres_clean_url, 4))
            await setup_own_tables(pool)
            listener = PostgresListener(postgres_clean_url)
            replica = Replica(
                pool,
                listener,
                PostgresThreadLock(pool, listener, lease_s=lease_s, poll_s=poll_s),
                PostgresStreamBroker(pool, listener, **{"heartbeat": 0.05, **broker}),
                PostgresWorkers(pool, lease_s=lease_s),
                PostgresCancelBus(pool, listener),
            )
            await stack.enter_async_context(listener.running())
            await stack.enter_async_context(replica.lock.running())
            return replica

        yield open_replica


async def _rows(pool: AsyncConnectionPool[Any], sql: str, *params: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cursor = await conn.execute(sql, params)
        return list(await cursor.fetchall())


# --- the thread lock ---------------------------------------------------------------------------


async def test_lock_serves_waiters_in_arrival_order_woken_by_notify(replicas: OpenReplica) -> None:
    first, second, third = [await replicas(lease_s=30.0, poll_s=QUIET_S) for _ in range(3)]
    order: list[str] = []

    async def take(replica: Replica, name: str) -> None:
        async with replica.lock.hold(THREAD):
            order.append(name)

    async def queued(wanted: int) -> bool:
        return await first.lock.queue_length(THREAD) == wanted

    async with first.lock.hold(THREAD):
        waiting = [asyncio.create_task(take(second, "second"))]
        await until(lambda: queued(2), "the second waiter")
        waiting.append(asyncio.create_task(take(third, "third")))
        await until(lambda: queued(3), "the third waiter")
        assert not any(task.done() for task in waiting) and order == []
    async with asyncio.timeout(DEADLINE_S):
        await asyncio.gather(*waiting)
    assert order == ["second", "third"]
    assert await first.lock.queue_length(THREAD) == 0


async def test_runs_of_one_replica_queue_in_the_order_they_asked(replicas: OpenReplica) -> None:
    replica = await replicas(lease_s=30.0, poll_s=QUIET_S)
    order: list[int] = []

    async def take(n: int) -> None:
        async with replica.lock.hold(THREAD):
            order.append(n)

    async with replica.lock.hold(THREAD):
        waiting = [asyncio.create_task(take(n)) for n in range(8)]
        await until(lambda: _is(replica.lock.queue_length(THREAD), 9), "eight waiters")
    async with asyncio.timeout(DEADLINE_S):
        await asyncio.gather(*waiting)
    assert order == list(range(8))


async def test_lease_is_renewed_while_held(replicas: OpenReplica) -> None:
    replica = await replicas(lease_s=1.0)
    sql = "SELECT expires_at, expires_at - clock_timestamp() AS left FROM sessiongraph_thread_locks"
    async with replica.lock.hold(THREAD):
        seen = await _rows(replica.pool, sql)
        assert len(seen) == 1

        async def renewed() -> bool:
            seen.extend(await _rows(replica.pool, sql))
            return seen[-1]["expires_at"] > seen[0]["expires_at"]

        await until(renewed, "a renewal of the lease")
        assert all(0 < row["left"].total_seconds() <= 1.0 for row in seen)
    assert await _rows(replica.pool, sql) == []


async def test_a_killed_holder_is_reaped_when_its_lease_lapses(
    replicas: OpenReplica, postgres_clean_url: str
) -> None:
    replica = await replicas(lease_s=1.0)
    with _holder(postgres_clean_url, lease_s=1.0) as dead_worker:
        assert await replica.workers.alive(dead_worker)
        (dead,) = await _rows(replica.pool, "SELECT token FROM sessiongraph_thread_locks")
    async with asyncio.timeout(DEADLINE_S), replica.lock.hold(THREAD):
        tokens = [
            row["token"] for row in await _rows(replica.pool, "SELECT token FROM sessiongraph_thread_locks")
        ]
        assert len(tokens) == 1 and tokens != [dead["token"]]
    await until(lambda: _false(replica.workers.alive(dead_worker)), "the dead worker's lease to lapse")


async def test_a_lapsed_holder_row_lets_the_next_waiter_in(replicas: OpenReplica) -> None:
    """A holder that stopped renewing (its row expired, its process gone) is reaped by the waiter."""
    replica = await replicas(lease_s=1.0)
    await _rows(
        replica.pool,
        "INSERT INTO sessiongraph_thread_locks (thread_id, token, expires_at) "
        "VALUES (%s, 'gone', clock_timestamp() + interval '300 milliseconds') RETURNING seq",
        THREAD,
    )
    async with asyncio.timeout(DEADLINE_S), replica.lock.hold(THREAD):
        assert await replica.lock.queue_length(THREAD) == 1


# --- the stream broker -------------------------------------------------------------------------


async def test_broker_ids_replay_and_close_across_replicas(replicas: OpenReplica) -> None:
    publisher, reader = (await replicas(), await replicas())
    await broker_contract.replays_and_closes_across(publisher.broker, reader.broker, DEADLINE_S)


async def test_broker_heartbeats_while_silent(replicas: OpenReplica) -> None:
    await broker_contract.heartbeats_while_silent((await replicas(heartbeat=0.02)).broker)


async def test_notify_wakes_subscribers_and_waiters_on_another_replica(replicas: OpenReplica) -> None:
    publisher = await replicas()
    reader = await replicas(heartbeat=QUIET_S)
    await publisher.broker.open("run")
    items = aiter(await reader.broker.subscribe("run", None))
    first = asyncio.create_task(anext(items))
    closed = asyncio.create_task(reader.broker.wait_closed("run", QUIET_S))
    await publisher.broker.publish("run", "values", b"1")
    async with asyncio.timeout(DEADLINE_S):
        assert (await first).seq == 1  # type: ignore[union-attr]
        await publisher.broker.close("run")
        assert await closed
        assert [e async for e in items] == []


async def test_small_large_and_binary_events_arrive_in_order_across_replicas(replicas: OpenReplica) -> None:
    """Small events travel in the notification, others are read from the table: in order either way."""
    publisher = await replicas()
    reader = await replicas(heartbeat=QUIET_S)
    sent = [b'"a"', b'"' + b"x" * 20_000 + b'"', '"é ✓"'.encode(), b"\xff\xfe", b'"b"', b"c" * 6_990]
    await publisher.broker.open("run")
    items = aiter(await reader.broker.subscribe("run", None))
    for data in sent:
        await publisher.broker.publish("run", "values", data)
    await publisher.broker.close("run")
    async with asyncio.timeout(DEADLINE_S):
        received = [e async for e in items]
    assert [(e.seq, e.event, e.data) for e in received if e is not None] == [
        (seq, "values", data) for seq, data in enumerate(sent, 1)
    ]


async def test_replay_is_bounded(replicas: OpenReplica) -> None:
    broker = (await replicas(replay=3)).broker
    await broker.open("run")
    for i in range(1, 6):
        await broker.publish("run", "values", f"{i}".encode())
    items = aiter(await broker.subscribe("run", 0))
    assert [(await anext(items)).seq for _ in range(3)] == [3, 4, 5]  # type: ignore[union-attr]
    await broker.close("run")
    assert [e async for e in items if e is not None] == []
    assert [e.seq async for e in await broker.subscribe("run", 0)] == [3, 4, 5]


async def test_close_sweeps_streams_closed_longer_than_closed_ttl(replicas: OpenReplica) -> None:
    broker = (await replicas(closed_ttl=0, sweep_s=0)).broker
    for run in ("open", "done"):
        await broker.open(run)
        await broker.publish(run, "values", b"1")
    await broker.close("done")
    assert [e async for e in await broker.subscribe("done", 0)] == []
    assert not await broker.wait_closed("open", 0.01)
    items = aiter(await broker.subscribe("open", 0))
    assert (await anext(items)).seq == 1  # type: ignore[union-attr]


# --- workers and cancels -----------------------------------------------------------------------


async def test_workers_lease_and_claims(replicas: OpenReplica) -> None:
    a, b = (await replicas(lease_s=1.0), await replicas(lease_s=1.0))
    assert not await b.workers.alive(a.workers.worker_id) and not await b.workers.alive(None)
    async with a.workers.heartbeats():
        assert await b.workers.alive(a.workers.worker_id)
        assert await a.workers.alive(a.workers.worker_id)
    assert not await b.workers.alive(a.workers.worker_id)
    assert await a.workers.claim("run-1")
    assert not await b.workers.claim("run-1") and not await a.workers.claim("run-1")
    assert await b.workers.claim("run-2")


async def test_cancel_bus_reaches_every_replica(replicas: OpenReplica) -> None:
    a, b = (await replicas(), await replicas())
    heard: list[tuple[str, CancelAction]] = []

    async def handler(run_id: str, action: CancelAction) -> None:
        if run_id == "bad":
            raise RuntimeError("a failing handler does not stop the bus")
        heard.append((run_id, action))

    async with b.cancel_bus.listening(handler):
        await a.cancel_bus.publish("bad", "interrupt")
        await a.cancel_bus.publish("run-1", "rollback")
        await until(lambda: _true(heard == [("run-1", "rollback")]), "the cancel request")


# --- Postgres restarts -------------------------------------------------------------------------


async def test_listener_reconnects_after_postgres_restarts(
    own_postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sessiongraph")
    url = own_postgres.url
    settings = Settings(checkpoint_url=url, worker_lease_s=1.0, heartbeat_s=0.05)
    heard: list[str] = []

    async def handler(run_id: str, action: CancelAction) -> None:
        heard.append(run_id)

    async with open_postgres_coordination(url, settings) as a, open_postgres_coordination(url, settings) as b:
        assert a.cancel_bus is not None and b.cancel_bus is not None
        async with b.cancellation(handler):
            await asyncio.to_thread(own_postgres.restart)

            async def heard_after_restart() -> bool:
                with contextlib.suppress(psycopg.OperationalError):  # a pooled connection the restart cut
                    await a.cancel_elsewhere(f"run-{len(heard)}", "interrupt")
                return bool(heard)

            await until(heard_after_restart, "a cancel request after the restart", timeout_s=30.0)
            await b.ping()
            # The lock and the broker work again too.
            async with asyncio.timeout(DEADLINE_S), b.lock.hold(THREAD):
                await a.broker.open("run")
                await a.broker.publish("run", "values", b"1")
                await a.broker.close("run")
                assert [e.seq async for e in await b.broker.subscribe("run", 0)] == [1]
    ours = [r for r in caplog.records if r.name.startswith("sessiongraph")]
    assert any("LISTEN connection restored" in r.getMessage() for r in ours)
    assert not [r for r in ours if r.exc_info], "no traceback is logged for a restart"


# --- helpers -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _holder(url: str, lease_s: float) -> Iterator[str]:
    """A holder of ``THREAD`` in another process, SIGKILLed on exit; yields its worker id."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, THREAD, str(lease_s)], stdout=subprocess.PIPE, text=True
    )
    try:
        worker = holder.stdout.readline().strip()  # type: ignore[union-attr]
        assert worker, "the holder process did not start"
        yield worker
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(DEADLINE_S)
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.stdout.close()  # type: ignore[union-attr]


async def _is(value: Awaitable[int], wanted: int) -> bool:
    return await value == wanted


async def _true(value: bool) -> bool:
    return value


async def _false(value: Awaitable[bool]) -> bool:
    return not await value
