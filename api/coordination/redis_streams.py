"""The Redis :class:`StreamBroker`: a run's events in a Redis Stream any replica can read.

Keys (per run): ``sessiongraph:stream:<run_id>`` is the stream, ``...:state`` is ``open`` or
``closed``. Events are added with the explicit ids ``0-1``, ``0-2``... (``XADD ... 0-*``), so an
event's sequence number, its SSE ``id`` and the ``Last-Event-ID`` a client sends back are the
same integers as with :class:`MemoryStreamBroker`. The stream is trimmed to about ``replay``
entries. Closing appends a close marker (field ``c``) that ends every reader, and gives both
keys a ``closed_ttl`` so that late joiners can still replay for a while.

Differences from the memory broker: a subscriber that names a ``Last-Event-ID`` on a run that
already closed replays what is still buffered (then ends) instead of getting nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis

from sessiongraph.api.coordination.interfaces import StreamBroker, StreamEvent, Subscription
from sessiongraph.checkpoints.redis.client import MAX_BLOCK_S

STREAM_PREFIX = "sessiongraph:stream:"
OPEN = b"open"

# KEYS: stream, state. ARGV: open ttl s. Open a run's channel unless it exists.
_OPEN = """
redis.call('SET', KEYS[2], 'open', 'NX', 'EX', ARGV[1])
return 1
"""

# KEYS: stream, state. ARGV: event, data, replay, open ttl s. Append while open.
_PUBLISH = """
if redis.call('GET', KEYS[2]) ~= 'open' then return 0 end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '0-*', 'e', ARGV[1], 'd', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
"""

# KEYS: stream, state. ARGV: closed ttl s. Append the close marker once.
_CLOSE = """
if redis.call('GET', KEYS[2]) ~= 'open' then return 0 end
redis.call('SET', KEYS[2], 'closed', 'EX', ARGV[1])
redis.call('XADD', KEYS[1], '0-*', 'c', '1')
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""


def _seq(entry_id: bytes) -> int:
    return int(entry_id.split(b"-", 1)[1])


class RedisStreamBroker(StreamBroker):
    """Run events in Redis Streams; ``heartbeat`` seconds of silence yield ``None``.

    ``open_ttl`` bounds how long the keys of a run whose replica died stay open (renewed on
    every event); ``closed_ttl`` is how long a finished run's events stay replayable.
    """

    def __init__(
        self,
        client: Redis,
        *,
        heartbeat: float = 5.0,
        replay: int = 1000,
        open_ttl: int = 24 * 3600,
        closed_ttl: int = 300,
    ) -> None:
        self._client = client
        self._heartbeat = heartbeat
        self._replay = replay
        self._open_ttl = open_ttl
        self._closed_ttl = closed_ttl
        self._open = client.register_script(_OPEN)
        self._publish = client.register_script(_PUBLISH)
        self._close = client.register_script(_CLOSE)

    @staticmethod
    def _keys(run_id: str) -> list[str]:
        stream = f"{STREAM_PREFIX}{{{run_id}}}"
        return [stream, stream + ":state"]

    async def open(self, run_id: str) -> None:
        """See :meth:`StreamBroker.open`."""
        await self._open(self._keys(run_id), [self._open_ttl])

    async def publish(self, run_id: str, event: str, data: bytes) -> None:
        """See :meth:`StreamBroker.publish`."""
        await self._publish(self._keys(run_id), [event, data, self._replay, self._open_ttl])

    async def _position(self, run_id: str) -> tuple[bytes | None, bytes]:
        """The channel's state and the id of its last entry, read in that order of causality:
        the last id first, so a close that happens in between is after it."""
        stream, state = self._keys(run_id)
        last: Any = await self._client.xrevrange(stream, count=1)
        current: Any = await self._client.get(state)
        return current, last[0][0] if last else b"0-0"

    async def subscribe(self, run_id: str, last_event_id: int | None = None) -> Subscription:
        """See :meth:`StreamBroker.subscribe`."""
        state, last = await self._position(run_id)
        stream = self._keys(run_id)[0]
        if state == OPEN:
            start = last if last_event_id is None else f"0-{last_event_id}".encode()
            return _RedisSubscription(self._client, stream, start, self._heartbeat)
        if state is not None and last_event_id is not None:
            return _RedisSubscription(self._client, stream, f"0-{last_event_id}".encode(), self._heartbeat)
        return _RedisSubscription(self._client, None, b"0-0", self._heartbeat)

    async def close(self, run_id: str) -> None:
        """See :meth:`StreamBroker.close`."""
        await self._close(self._keys(run_id), [self._closed_ttl])

    async def wait_closed(self, run_id: str, timeout: float) -> bool:
        """See :meth:`StreamBroker.wait_closed`."""
        state, last = await self._position(run_id)
        if state != OPEN:
            return True
        stream = self._keys(run_id)[0]
        loop_time = asyncio.get_running_loop().time
        deadline = loop_time() + timeout
        while (left := deadline - loop_time()) > 0:
            block = max(int(min(left, MAX_BLOCK_S) * 1000), 1)
            reply: Any = await self._client.xread({stream: last}, block=block, count=100)
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    if b"c" in fields:
                        return True
                    last = entry_id
        return False


class _RedisSubscription(Subscription):
    """``XREAD BLOCK`` from a position until the close marker; a timeout is a heartbeat."""

    def __init__(self, client: Redis, stream: str | None, start: bytes, heartbeat: float) -> None:
        self._client = client
        self._stream = stream
        self._position = start
        self._heartbeat = heartbeat
        self._block_ms = max(int(min(heartbeat, MAX_BLOCK_S) * 1000), 1)

    async def __aiter__(self) -> AsyncIterator[StreamEvent | None]:
        if self._stream is None:
            return
        loop_time = asyncio.get_running_loop().time
        quiet_since = loop_time()
        while True:
            # Short blocks, so that no wait outlasts the client's socket timeout; a heartbeat
            # (``None``) once ``heartbeat`` seconds passed without an event.
            reply: Any = await self._client.xread(
                {self._stream: self._position}, block=self._block_ms, count=100
            )
            if not reply:
                if loop_time() - quiet_since >= self._heartbeat:
                    quiet_since = loop_time()
                    yield None
                continue
            quiet_since = loop_time()
            for _, entries in reply:
                for entry_id, fields in entries:
                    self._position = entry_id
                    if b"c" in fields:
                        return
                    yield StreamEvent(_seq(entry_id), fields[b"e"].decode(), fields[b"d"])
