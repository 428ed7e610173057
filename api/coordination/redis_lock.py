"""The Redis :class:`ThreadLock`, shared by every API replica on one Redis.

A FIFO queue per thread; the waiter at its head holds the thread. Every waiter (and the holder)
keeps a lease key alive from a background task, so a crashed replica's place is reaped once its
lease lapses. Release wakes the next waiter through a per-waiter list it ``BLPOP``\\ s on (no
polling in the happy path). Thread keys share the hash tag ``{<thread_id>}`` so that the scripts
touch one slot only.

Example::

    from redis.asyncio import Redis

    client = Redis.from_url("redis://127.0.0.1:6379/0")
    lock = RedisThreadLock(client)
    async with lock.hold(thread_id):
        ...  # no other replica runs on thread_id meanwhile
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis

from sessiongraph.api.coordination.interfaces import ThreadLock
from sessiongraph.checkpoints.redis.client import MAX_BLOCK_S

log = logging.getLogger("sessiongraph.api.coordination.redis_lock")

LOCK_PREFIX = "sessiongraph:lock:"

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
        args: list[Any] = [token, prefix, self._lease_ms]
        async with self._arrival:
            await self._enqueue(keys, args)
        renewal = asyncio.create_task(self._keep_alive(keys, args), name=f"lease-{thread_id}")
        try:
            while not await self._check(keys, args):
                # Woken by the predecessor's release; the timeout re-checks for a lapsed lease.
                # Short blocks in a loop: a long one would outlast the client's socket timeout.
                await self._client.blpop(
                    [f"{prefix}wake:{token}"], timeout=min(self._lease_ms / 1000, MAX_BLOCK_S)
                )
            yield
        finally:
            renewal.cancel()
            await asyncio.shield(self._leave(keys, args, renewal))

    async def queue_length(self, thread_id: str) -> int:
        """How many runs hold or wait for ``thread_id`` (in every process)."""
        return int(await self._client.llen(lock_prefix(thread_id) + "q"))

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
