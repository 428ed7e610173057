"""The PostgreSQL :class:`StreamBroker`: a run's events in a table any replica can read.

``sessiongraph_streams`` has a row per run (its last sequence number, whether it is closed, when
it last changed); ``sessiongraph_stream_events`` its events, keyed by ``(run_id, seq)``.
Publishing bumps the run's row (its row lock orders concurrent publishers, so sequence numbers
commit in order), adds the event and drops the one that left the ``replay`` window, in one
statement; then a ``NOTIFY`` (payload ``e <run_id>``, or ``c <run_id>`` on close) tells every
process. The ``NOTIFY`` is a statement of its own: Postgres serializes the commits of
notifying transactions, so a notification without writes keeps event commits from waiting on
each other's disk flushes.

Each process's one :class:`PostgresListener` wakes the local subscribers of that run, and they
read the events after their position from the table: subscribers never hold a connection while
they wait, readers that fall behind cost nothing, and a notification lost to a reconnect only
delays a reader until its next heartbeat (``None``), when it reads again anyway. Sequence
numbers are 1, 2, 3... as with :class:`MemoryStreamBroker`, and are the SSE ids.

A closed run stays replayable for ``closed_ttl`` seconds; the rows of a run whose process died
without closing it go ``open_ttl`` seconds after its last event. Both are swept by ``close``,
at most every ``sweep_s`` seconds per process. Like the Redis broker, a subscriber that names a
``Last-Event-ID`` on a run that closed replays what is still buffered (then ends).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

from psycopg_pool import AsyncConnectionPool

from sessiongraph.api.coordination.interfaces import StreamBroker, StreamEvent, Subscription
from sessiongraph.api.coordination.postgres_listener import PostgresListener

STREAM_CHANNEL = "sessiongraph_stream"
READ_BATCH = 100
"""Events read per query."""

_PUBLISH = """
WITH bumped AS (
    UPDATE sessiongraph_streams SET last_seq = last_seq + 1, touched_at = now()
    WHERE run_id = %(run)s AND NOT closed RETURNING last_seq
), added AS (
    INSERT INTO sessiongraph_stream_events (run_id, seq, event, data)
    SELECT %(run)s, last_seq, %(event)s, %(data)s FROM bumped RETURNING seq
), dropped AS (
    DELETE FROM sessiongraph_stream_events
    WHERE run_id = %(run)s AND seq = (SELECT last_seq FROM bumped) - %(replay)s
)
SELECT seq FROM added
"""

# The channel's state and the events after a position, in one snapshot: a run seen closed has
# all its events visible.
_READ = """
SELECT s.closed, s.last_seq, e.seq, e.event, e.data
FROM sessiongraph_streams s
LEFT JOIN LATERAL (
    SELECT seq, event, data FROM sessiongraph_stream_events
    WHERE run_id = s.run_id AND seq > %(after)s ORDER BY seq LIMIT %(limit)s
) e ON TRUE
WHERE s.run_id = %(run)s
"""

_SWEEP = """
DELETE FROM sessiongraph_streams
WHERE (closed AND touched_at < now() - make_interval(secs => %(closed_ttl)s))
   OR touched_at < now() - make_interval(secs => %(open_ttl)s)
"""


class PostgresStreamBroker(StreamBroker):
    """Run events in PostgreSQL (see the module docstring); ``heartbeat`` seconds of silence
    yield ``None``."""

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        listener: PostgresListener,
        *,
        heartbeat: float = 5.0,
        replay: int = 1000,
        open_ttl: float = 24 * 3600,
        closed_ttl: float = 300,
        sweep_s: float = 30.0,
    ) -> None:
        self._pool = pool
        self._heartbeat = heartbeat
        self._replay = replay
        self._open_ttl = open_ttl
        self._closed_ttl = closed_ttl
        self._sweep_s = sweep_s
        self._swept_at: float | None = None
        # run id -> the events of this process's readers (woken by any change) and of its
        # wait_closed callers (woken by the close).
        self._readers: dict[str, set[asyncio.Event]] = {}
        self._closers: dict[str, set[asyncio.Event]] = {}
        listener.on(STREAM_CHANNEL, self._notified)
        listener.on_reconnect(self._wake_all)

    async def open(self, run_id: str) -> None:
        """See :meth:`StreamBroker.open`."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO sessiongraph_streams (run_id) VALUES (%s) ON CONFLICT (run_id) DO NOTHING",
                (run_id,),
            )

    async def publish(self, run_id: str, event: str, data: bytes) -> None:
        """See :meth:`StreamBroker.publish`."""
        params = {"run": run_id, "event": event, "data": data, "replay": self._replay}
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_PUBLISH, params)
            if await cursor.fetchone() is not None:
                await conn.execute("SELECT pg_notify(%s, %s)", (STREAM_CHANNEL, f"e {run_id}"))

    async def subscribe(self, run_id: str, last_event_id: int | None = None) -> Subscription:
        """See :meth:`StreamBroker.subscribe`."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT closed, last_seq FROM sessiongraph_streams WHERE run_id = %s", (run_id,)
            )
            state = await cursor.fetchone()
        if state is None or (state["closed"] and last_event_id is None):
            return _PostgresSubscription(self, run_id, None, self._heartbeat)
        start = state["last_seq"] if last_event_id is None else last_event_id
        return _PostgresSubscription(self, run_id, start, self._heartbeat)

    async def close(self, run_id: str) -> None:
        """See :meth:`StreamBroker.close`."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "UPDATE sessiongraph_streams SET closed = TRUE, touched_at = now() "
                "WHERE run_id = %s AND NOT closed RETURNING run_id",
                (run_id,),
            )
            if await cursor.fetchone() is not None:
                await conn.execute("SELECT pg_notify(%s, %s)", (STREAM_CHANNEL, f"c {run_id}"))
            now = asyncio.get_running_loop().time()
            if self._swept_at is None or now - self._swept_at >= self._sweep_s:
                self._swept_at = now
                await conn.execute(_SWEEP, {"closed_ttl": self._closed_ttl, "open_ttl": self._open_ttl})

    async def wait_closed(self, run_id: str, timeout: float) -> bool:
        """See :meth:`StreamBroker.wait_closed`."""
        loop_time = asyncio.get_running_loop().time
        deadline = loop_time() + timeout
        with self._watching(self._closers, run_id) as woken:
            while True:
                woken.clear()
                async with self._pool.connection() as conn:
                    cursor = await conn.execute(
                        "SELECT closed FROM sessiongraph_streams WHERE run_id = %s", (run_id,)
                    )
                    state = await cursor.fetchone()
                if state is None or state["closed"]:
                    return True
                left = deadline - loop_time()
                if left <= 0:
                    return False
                # Woken by the close; the heartbeat bounds a wait whose notification was lost.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(left, self._heartbeat)):
                        await woken.wait()

    async def read(self, run_id: str, after: int) -> tuple[list[StreamEvent], bool]:
        """The next events after ``after``, and whether the stream ended with them (closed and
        read to its end, or gone)."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_READ, {"run": run_id, "after": after, "limit": READ_BATCH})
            rows = await cursor.fetchall()
        if not rows:
            return [], True
        events = [StreamEvent(r["seq"], r["event"], bytes(r["data"])) for r in rows if r["seq"] is not None]
        return events, rows[0]["closed"] and len(events) < READ_BATCH

    @contextlib.contextmanager
    def watching(self, run_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever ``run_id``'s stream may have changed, while inside."""
        with self._watching(self._readers, run_id) as woken:
            yield woken

    @staticmethod
    @contextlib.contextmanager
    def _watching(table: dict[str, set[asyncio.Event]], run_id: str) -> Iterator[asyncio.Event]:
        woken = asyncio.Event()
        table.setdefault(run_id, set()).add(woken)
        try:
            yield woken
        finally:
            waiting = table.get(run_id)
            if waiting is not None:
                waiting.discard(woken)
                if not waiting:
                    del table[run_id]

    def _notified(self, payload: str) -> None:
        kind, _, run_id = payload.partition(" ")
        tables = (self._readers, self._closers) if kind == "c" else (self._readers,)
        for table in tables:
            for woken in table.get(run_id, ()):
                woken.set()

    def _wake_all(self) -> None:
        for table in (self._readers, self._closers):
            for waiting in table.values():
                for woken in waiting:
                    woken.set()


class _PostgresSubscription(Subscription):
    """Reads from a position until the stream ends; woken by the listener, a heartbeat
    (``None``) after ``heartbeat`` seconds without events (and a read, in case a notification
    was lost)."""

    def __init__(
        self, broker: PostgresStreamBroker, run_id: str, position: int | None, heartbeat: float
    ) -> None:
        self._broker = broker
        self._run_id = run_id
        self._position = position
        self._heartbeat = heartbeat

    async def __aiter__(self) -> AsyncIterator[StreamEvent | None]:
        if self._position is None:
            return
        with self._broker.watching(self._run_id) as woken:
            while True:
                woken.clear()
                events, ended = await self._broker.read(self._run_id, self._position)
                for event in events:
                    self._position = event.seq
                    yield event
                if ended:
                    return
                if len(events) == READ_BATCH:
                    continue
                try:
                    async with asyncio.timeout(self._heartbeat):
                        await woken.wait()
                except TimeoutError:
                    yield None
