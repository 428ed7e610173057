"""Thread registry in Redis, shared by every API replica that points at the same server.

Each thread is one JSON string at ``sessiongraph:thread:<id>``; a sorted set
``sessiongraph:threads`` (score: updated_at) orders them. Filters run client-side over the sorted
set, which is fine for thousands of threads; a RediSearch index would be the next step.
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from sessiongraph.checkpoints.registry import ThreadInfo, ThreadQuery, ThreadRegistry

KEY_PREFIX = "sessiongraph:thread:"
INDEX_KEY = "sessiongraph:threads"


class RedisThreadRegistry(ThreadRegistry):
    """Threads as JSON strings plus a sorted-set index."""

    def __init__(self, client: Redis) -> None:
        self.client = client

    async def aclose(self) -> None:
        await self.client.aclose()

    async def insert_if_absent(self, info: ThreadInfo) -> bool:
        # SET NX makes creation atomic across replicas; a TTL starts counting at creation.
        ttl = max(1, int(info.ttl_minutes * 60)) if info.ttl_minutes is not None else None
        if not await self.client.set(KEY_PREFIX + info.thread_id, _dump(info), nx=True, ex=ttl):
            return False
        await self.client.zadd(INDEX_KEY, {info.thread_id: info.updated_at})
        return True

    async def get(self, thread_id: str) -> ThreadInfo | None:
        raw = await self.client.get(KEY_PREFIX + thread_id)
        return _load(raw) if raw else None

    async def _all(self) -> list[ThreadInfo]:
        ids: Any = await self.client.zrange(INDEX_KEY, 0, -1)
        if not ids:
            return []
        names = [i.decode() if isinstance(i, bytes) else i for i in ids]
        raws: Any = await self.client.mget([KEY_PREFIX + n for n in names])
        stale = [n for n, raw in zip(names, raws, strict=True) if raw is None]
        if stale:  # expired natively (TTL) or deleted by another replica: tidy the index
            await self.client.zrem(INDEX_KEY, *stale)
        return [_load(raw) for raw in raws if raw is not None]

    async def search(self, query: ThreadQuery) -> list[ThreadInfo]:
        return query.page(await self._all())

    async def count(self, query: ThreadQuery) -> int:
        return sum(1 for info in await self._all() if query.matches(info))

    async def save(self, info: ThreadInfo) -> None:
        key = KEY_PREFIX + info.thread_id
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(key, _dump(info))
            if info.ttl_minutes is not None and info.status != "busy":
                pipe.expire(key, max(1, int(info.ttl_minutes * 60)))
            pipe.zadd(INDEX_KEY, {info.thread_id: info.updated_at})
            await pipe.execute()

    async def delete(self, thread_id: str) -> bool:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(KEY_PREFIX + thread_id)
            pipe.zrem(INDEX_KEY, thread_id)
            deleted, _ = await pipe.execute()
        return bool(deleted)


def _dump(info: ThreadInfo) -> str:
    return json.dumps(info.to_dict(), separators=(",", ":"), default=str)


def _load(raw: bytes | str) -> ThreadInfo:
    return ThreadInfo(**json.loads(raw))
