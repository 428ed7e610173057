"""Redis implementations of the run coordination interfaces, shared by every API replica.

- :class:`RedisThreadLock`: a FIFO queue per thread; the waiter at its head holds the thread.
  Every waiter (and the holder) keeps a lease key alive from a background task, so a crashed
  replica's place is reaped once its lease lapses. Release wakes the next waiter through a
  per-waiter list it ``BLPOP``\\ s on (no polling in the happy path).
- :class:`RedisRunRegistry`: one JSON string per run, a sorted set of run ids per thread
  (insertion order) and one of its active runs; the newest ``keep_per_thread`` are kept.

Thread keys share the hash tag ``{<thread_id>}`` so that the scripts touch one slot only.
The stream broker is in :mod:`sessiongraph.api.coordination_streams`.

Example::

    from redis.asyncio import Redis

    client = Redis.from_url("redis://127.0.0.1:6379/0")
    lock = RedisThreadLock(client)
    async with lock.hold(thread_id):
        ...  # no other replica runs on thread_id meanwhile
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis

from sessiongraph.api.coordination import RunRecord, RunRegistry, ThreadLock
from sessiongraph.api.serialize import dumps, loads

log = logging.getLogger("sessiongraph.api.coordination_redis")

LOCK_PREFIX = "sessiongraph:lock:"
RUN_PREFIX = "sessiongraph:run:"
THREAD_RUNS_PREFIX = "sessiongraph:thread_runs:"
RUN_SEQ_KEY = "sessiongraph:run_seq"

# KEYS: queue. ARGV: token, key prefix, lease ms. Join the queue's tail with a fresh lease.
_ENQUEUE = """
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('SET', ARGV[2] .. 'lease:' .. ARGV[1], '1', 'PX', ARGV[3])
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[3]))
return 1
"""

# KEYS: queue. ARGV: token, key prefix, lease ms. 1 if the token heads the queue (it holds the
# thread). Heads whose lease lapsed (crashed replicas) are reaped and the new head is woken; a
# token that was itself reaped (its process stalled past the lease) queues again at the tail.
_CHECK = """
local prefix = ARGV[2]
if not redis.call('LPOS', KEYS[1], ARGV[1]) then
  redis.call('RPUSH', KEYS[1], ARGV[1])
  redis.call('SET', prefix .. 'lease:' .. ARGV[1], '1', 'PX', ARGV[3])
end
local reaped = false
while true do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if head == ARGV[1] then return 1 end
  if redis.call('EXISTS', prefix .. 'lease:' .. head) == 1 then
    if reaped then
      redis.call('RPUSH', prefix .. 'wake:' .. head, '1')
      redis.call('PEXPIRE', prefix .. 'wake:' .. head, ARGV[3])
    end
    return 0
  end
  redis.call('LPOP', KEYS[1])
  redis.call('DEL', prefix .. 'wake:' .. head)
  reaped = true
end
"""

# KEYS: queue. ARGV: token, key prefix, lease ms. Leave the queue; if holding, wake the next.
_RELEASE = """
local prefix = ARGV[2]
redis.call('DEL', prefix .. 'lease:' .. ARGV[1], prefix .. 'wake:' .. ARGV[1])
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  redis.call('LPOP', KEYS[1])
  local nxt = redis.call('LINDEX', KEYS[1], 0)
  if nxt then
    redis.call('RPUSH', prefix .. 'wake:' .. nxt, '1')
    redis.call('PEXPIRE', prefix .. 'wake:' .. nxt, ARGV[3])
  end
  return 1
end
redis.call('LREM', KEYS[1], 1, ARGV[1])
return 0
"""

# KEYS: queue. ARGV: token, key prefix, lease ms. Extend the lease while still queued.
_RENEW = """
if not redis.call('LPOS', KEYS[1], ARGV[1]) then return 0 end
redis.call('SET', ARGV[2] .. 'lease:' .. ARGV[1], '1', 'PX', ARGV[3])
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[3]))
return 1
"""


def lock_prefix(thread_id: str) -> str:
    """The prefix of a thread's lock keys (``...:q`` queue, ``...:lease:<token>``, ``...:wake:<token>``)."""
    return f"{LOCK_PREFIX}{{{thread_id}}}:"


class RedisThreadLock(ThreadLock):
    """A fair per-thread lock across processes (see the module docstring).

    ``lease_s`` is how long a waiter or holder that stopped renewing (a crashed replica) keeps
    its place; leases are renewed every ``lease_s / 3`` seconds.
    """

    def __init__(self, client: Redis, *, lease_s: float = 15.0) -> None:
        self._client = client
        self._lease_ms = max(int(lease_s * 1000), 30)
        self._enqueue = client.register_script(_ENQUEUE)
        self._check = client.register_script(_CHECK)
        self._release = client.register_script(_RELEASE)
        self._renew = client.register_script(_RENEW)
        # Runs of this process join the Redis queue in the order they asked for the thread.
        self._arrival = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def hold(self, thread_id: str) -> AsyncIterator[None]:
        """See :meth:`ThreadLock.hold`."""
        prefix = lock_prefix(thread_id)
        keys = [prefix + "q"]
        token = uuid.uuid4().hex
        args = [token, prefix, self._lease_ms]
        async with self._arrival:
            await self._enqueue(keys, args)
        renewal = asyncio.create_task(self._keep_alive(keys, args), name=f"lease-{thread_id}")
        try:
            while not await self._check(keys, args):
                # Woken by the predecessor's release; the timeout re-checks for a lapsed lease.
                await self._client.blpop([f"{prefix}wake:{token}"], timeout=self._lease_ms / 1000)
            yield
        finally:
            renewal.cancel()
            await asyncio.shield(self._leave(keys, args, renewal))

    async def _leave(self, keys: list[str], args: list[Any], renewal: asyncio.Task[None]) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await renewal
        try:
            await self._release(keys, args)
        except Exception:
            log.exception("could not release the lock %s; its lease will lapse", keys[0])

    async def _keep_alive(self, keys: list[str], args: list[Any]) -> None:
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            try:
                if not await self._renew(keys, args):
                    log.warning("lease of %s lapsed (stalled process?); queueing again", keys[0])
            except Exception:
                log.exception("could not renew the lease of %s", keys[0])


def _encode(run: RunRecord) -> bytes:
    values = dataclasses.asdict(run)
    values["result"] = None if run.result is None else base64.b64encode(run.result).decode()
    return dumps(values)


def _decode(raw: bytes) -> RunRecord:
    values = loads(raw)
    if values.get("result") is not None:
        values["result"] = base64.b64decode(values["result"])
    return RunRecord(**values)


# KEYS: run key, thread zset, active zset, sequence. ARGV: run id, JSON, active (1/0), keep, run
# key prefix. Runs are ordered by first insertion; the oldest finished ones beyond ``keep`` go.
_PUT = """
redis.call('SET', KEYS[1], ARGV[2])
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score then
  score = redis.call('INCR', KEYS[4])
  redis.call('ZADD', KEYS[2], score, ARGV[1])
end
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[3], score, ARGV[1])
else
  redis.call('ZREM', KEYS[3], ARGV[1])
end
local keep = tonumber(ARGV[4])
local count = redis.call('ZCARD', KEYS[2])
if count > keep then
  for _, old in ipairs(redis.call('ZRANGE', KEYS[2], 0, count - keep - 1)) do
    if not redis.call('ZSCORE', KEYS[3], old) then
      redis.call('ZREM', KEYS[2], old)
      redis.call('DEL', ARGV[5] .. old)
    end
  end
end
return 1
"""


class RedisRunRegistry(RunRegistry):
    """Run records in Redis: ``sessiongraph:run:<id>`` JSON, ``sessiongraph:thread_runs:{<thread>}``
    (all, by insertion) and ``...:active`` sorted sets. Each thread keeps its newest
    ``keep_per_thread`` finished runs, like :class:`MemoryRunRegistry`."""

    def __init__(self, client: Redis, keep_per_thread: int = 100) -> None:
        self._client = client
        self._keep = keep_per_thread
        self._put = client.register_script(_PUT)

    @staticmethod
    def _thread_keys(thread_id: str) -> tuple[str, str]:
        base = f"{THREAD_RUNS_PREFIX}{{{thread_id}}}"
        return base, base + ":active"

    async def put(self, run: RunRecord) -> None:
        """See :meth:`RunRegistry.put`."""
        every, active = self._thread_keys(run.thread_id)
        await self._put(
            [RUN_PREFIX + run.run_id, every, active, RUN_SEQ_KEY],
            [run.run_id, _encode(run), "1" if run.active else "0", self._keep, RUN_PREFIX],
        )

    async def get(self, run_id: str) -> RunRecord | None:
        """See :meth:`RunRegistry.get`."""
        raw = await self._client.get(RUN_PREFIX + run_id)
        return None if raw is None else _decode(raw)

    async def _records(self, ids: list[bytes]) -> list[RunRecord]:
        if not ids:
            return []
        raws = await self._client.mget([RUN_PREFIX + i.decode() for i in ids])
        return [_decode(raw) for raw in raws if raw is not None]

    async def list(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: str | None = None
    ) -> list[RunRecord]:
        """See :meth:`RunRegistry.list`."""
        every, _ = self._thread_keys(thread_id)
        if status is None:
            return await self._records(await self._client.zrevrange(every, offset, offset + limit - 1))
        every_run = await self._records(await self._client.zrevrange(every, 0, -1))
        runs = [r for r in every_run if r.status == status]
        return runs[offset : offset + limit]

    async def active(self, thread_id: str) -> list[RunRecord]:
        """See :meth:`RunRegistry.active`."""
        _, active = self._thread_keys(thread_id)
        return [r for r in await self._records(await self._client.zrange(active, 0, -1)) if r.active]

    async def delete(self, run_id: str) -> bool:
        """See :meth:`RunRegistry.delete`."""
        run = await self.get(run_id)
        if run is None:
            return False
        every, active = self._thread_keys(run.thread_id)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.zrem(every, run_id).zrem(active, run_id).delete(RUN_PREFIX + run_id)
            await pipe.execute()
        return True

    async def delete_thread(self, thread_id: str) -> None:
        """See :meth:`RunRegistry.delete_thread`."""
        every, active = self._thread_keys(thread_id)
        ids = await self._client.zrange(every, 0, -1)
        async with self._client.pipeline(transaction=True) as pipe:
            for run_id in ids:
                pipe.delete(RUN_PREFIX + run_id.decode())
            pipe.delete(every, active)
            await pipe.execute()
