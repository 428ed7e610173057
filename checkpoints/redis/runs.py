"""The Redis :class:`RunRegistry`: run records shared by every API replica on one Redis.

One JSON string per run, a sorted set of run ids per thread (insertion order), one of its
active runs and one of every active run (``sessiongraph:runs:active``, what recovery scans);
the newest ``keep_per_thread`` are kept.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from sessiongraph.checkpoints.runs import RunRecord, RunRegistry, decode_run, encode_run

RUN_PREFIX = "sessiongraph:run:"
THREAD_RUNS_PREFIX = "sessiongraph:thread_runs:"
RUN_SEQ_KEY = "sessiongraph:run_seq"
ALL_ACTIVE_KEY = "sessiongraph:runs:active"

# KEYS: run key, thread zset, active zset, sequence, every active run. ARGV: run id, JSON,
# active (1/0), keep, run key prefix. Runs are ordered by first insertion; the oldest finished
# ones beyond ``keep`` go.
_PUT = """
redis.call('SET', KEYS[1], ARGV[2])
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score then
  score = redis.call('INCR', KEYS[4])
  redis.call('ZADD', KEYS[2], score, ARGV[1])
end
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[3], score, ARGV[1])
  redis.call('ZADD', KEYS[5], score, ARGV[1])
else
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[5], ARGV[1])
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
            [RUN_PREFIX + run.run_id, every, active, RUN_SEQ_KEY, ALL_ACTIVE_KEY],
            [run.run_id, encode_run(run), "1" if run.active else "0", self._keep, RUN_PREFIX],
        )

    async def get(self, run_id: str) -> RunRecord | None:
        """See :meth:`RunRegistry.get`."""
        raw: Any = await self._client.get(RUN_PREFIX + run_id)
        return None if raw is None else decode_run(raw)

    async def _records(self, ids: list[Any]) -> list[RunRecord]:
        if not ids:
            return []
        raws: Any = await self._client.mget([RUN_PREFIX + i.decode() for i in ids])
        return [decode_run(raw) for raw in raws if raw is not None]

    async def of_thread(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: str | None = None
    ) -> list[RunRecord]:
        """See :meth:`RunRegistry.of_thread`."""
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

    async def all_active(self) -> list[RunRecord]:
        """See :meth:`RunRegistry.all_active`."""
        ids: Any = await self._client.zrange(ALL_ACTIVE_KEY, 0, -1)
        records = await self._records(ids)
        found = {r.run_id for r in records}
        gone = [i for i in ids if i.decode() not in found]
        if gone:  # records deleted with their thread: tidy the index
            await self._client.zrem(ALL_ACTIVE_KEY, *gone)
        return [r for r in records if r.active]

    async def delete(self, run_id: str) -> bool:
        """See :meth:`RunRegistry.delete`."""
        run = await self.get(run_id)
        if run is None:
            return False
        every, active = self._thread_keys(run.thread_id)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.zrem(every, run_id)
            pipe.zrem(active, run_id)
            pipe.zrem(ALL_ACTIVE_KEY, run_id)
            pipe.delete(RUN_PREFIX + run_id)
            await pipe.execute()
        return True

    async def delete_thread(self, thread_id: str) -> None:
        """See :meth:`RunRegistry.delete_thread`."""
        every, active = self._thread_keys(thread_id)
        ids: Any = await self._client.zrange(every, 0, -1)
        async with self._client.pipeline(transaction=True) as pipe:
            for run_id in ids:
                pipe.delete(RUN_PREFIX + run_id.decode())
                pipe.zrem(ALL_ACTIVE_KEY, run_id)
            pipe.delete(every, active)
            await pipe.execute()
