"""The PostgreSQL :class:`StreamBroker`: a run's events in a table any replica can read.

``sessiongraph_streams`` has a row per run (its last sequence number, whether it is closed, when
it last changed); ``sessiongraph_stream_events`` its events, keyed by ``(run_id, seq)``.
Publishing bumps the run's row (its row lock orders concurrent publishers, so sequence numbers
commit in order), adds the event and drops the one that left the ``replay`` window, in one
statement; then a ``NOTIFY`` tells every process, carrying the event itself when it is small
(:mod:`.postgres_fanout`). The ``NOTIFY`` is a statement of its own: Postgres serializes the
commits of notifying transactions, and one without writes has no disk flush to wait for, so
event commits do not queue behind each other.

Each process's one :class:`PostgresListener` hands the notifications to the local subscribers
of the run; they read the table only to start, to replay (``Last-Event-ID``), after a gap, and
after a heartbeat (``None``) in case a notification was lost to a reconnect. Subscribers never
hold a connection while they wait, and a reader that falls behind costs a bounded inbox.
Sequence numbers are 1, 2, 3... as with :class:`MemoryStreamBroker`, and are the SSE ids.

A closed run stays replayable for ``closed_ttl`` seconds; the rows of a run whose process died
without closing it go ``open_ttl`` seconds after its last event. Both are swept by ``close``,
at most every ``sweep_s`` seconds per process. Like the Redis broker, a subscriber that names a
``Last-Event-ID`` on a run that closed replays what is still buffered (then ends).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from psycopg_pool import AsyncConnectionPool

from sessiongraph.api.coordination.interfaces import StreamBroker, StreamEvent, Subscription
from sessiongraph.api.coordination.postgres_fanout import (
    READ_BATCH,
    STREAM_CHANNEL,
    Fanout,
    PostgresSubscription,
    close_payload,
    event_payload,
)
from sessiongraph.api.coordination.postgres_listener import PostgresListener

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
        self._fanout = Fanout()
        listener.on(STREAM_CHANNEL, self._fanout.notified)
        listener.on_reconnect(self._fanout.wake_all)

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
            row = await cursor.fetchone()
            if row is not None:
                # Events carry JSON text, which a UTF-8 database can pass on as it is.
                inline = conn.info.parameter_status("server_encoding") == "UTF8"
                payload = event_payload(run_id, StreamEvent(row["seq"], event, data), inline)
                await conn.execute("SELECT pg_notify(%s, %s)", (STREAM_CHANNEL, payload))

    async def subscribe(self, run_id: str, last_event_id: int | None = None) -> Subscription:
        """See :meth:`StreamBroker.subscribe`."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT closed, last_seq FROM sessiongraph_streams WHERE run_id = %s", (run_id,)
            )
            state = await cursor.fetchone()
        if state is None or (state["closed"] and last_event_id is None):
            start = None
        else:
            start = state["last_seq"] if last_event_id is None else last_event_id
        return PostgresSubscription(self.read, self._fanout, run_id, start, self._heartbeat)

    async def close(self, run_id: str) -> None:
        """See :meth:`StreamBroker.close`."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "UPDATE sessiongraph_streams SET closed = TRUE, touched_at = now() "
                "WHERE run_id = %s AND NOT closed RETURNING run_id",
                (run_id,),
            )
            if await cursor.fetchone() is not None:
                await conn.execute("SELECT pg_notify(%s, %s)", (STREAM_CHANNEL, close_payload(run_id)))
            now = asyncio.get_running_loop().time()
            if self._swept_at is None or now - self._swept_at >= self._sweep_s:
                self._swept_at = now
                await conn.execute(_SWEEP, {"closed_ttl": self._closed_ttl, "open_ttl": self._open_ttl})

    async def wait_closed(self, run_id: str, timeout: float) -> bool:
        """See :meth:`StreamBroker.wait_closed`."""
        loop_time = asyncio.get_running_loop().time
        deadline = loop_time() + timeout
        with self._fanout.awaiting_close(run_id) as inbox:
            while True:
                inbox.woken.clear()
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
                        await inbox.woken.wait()

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
