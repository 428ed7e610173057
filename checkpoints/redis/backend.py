"""The Redis backend: ``AsyncRedisSaver`` + ``AsyncRedisStore`` (see .store) + a Redis thread registry.

Redis needs the RedisJSON and RediSearch modules (Redis Stack, or Valkey with both loaded), as
langgraph-checkpoint-redis requires. Pruning uses the saver's ``aprune`` and then makes the
oldest kept checkpoint a root. Expiry is native: the registry record gets ``EXPIRE`` whenever it
is saved, and after each turn (and when a TTL changes) :meth:`RedisBackend.refresh_expiry` gives
every key of the thread the same TTL, so Redis drops the whole thread by itself; no sweeper runs.
"Bytes stored" is ``MEMORY USAGE`` of every key of the thread plus its registry record.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sessiongraph.checkpoints.base import Backend, BackendOptions, ExpiryListener
from sessiongraph.checkpoints.documents import DocumentTable
from sessiongraph.checkpoints.expiry import TTLSweeper
from sessiongraph.checkpoints.redis import keys
from sessiongraph.checkpoints.redis.client import connect
from sessiongraph.checkpoints.redis.documents import RedisDocumentTable
from sessiongraph.checkpoints.redis.registry import KEY_PREFIX, RedisThreadRegistry
from sessiongraph.checkpoints.redis.runs import RedisRunRegistry
from sessiongraph.checkpoints.redis.saver import RedisSaver
from sessiongraph.checkpoints.redis.store import RedisStore
from sessiongraph.checkpoints.stats import StorageStats


class RedisBackend(Backend):
    """``redis://`` and ``rediss://`` (see the module docstring)."""

    name = "redis"
    shared = True
    checkpointer: RedisSaver

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, url: str, options: BackendOptions) -> AsyncIterator[RedisBackend]:
        """See :meth:`Backend.open`."""
        async with contextlib.AsyncExitStack() as stack:
            # One client (one blocking pool, the timeouts of .client) for every part.
            client = connect(url)
            stack.push_async_callback(client.aclose)
            saver = await stack.enter_async_context(RedisSaver.from_conn_string(redis_client=client))
            await saver.asetup()
            index = options.store_index
            store = await stack.enter_async_context(
                # One vector index per vector size: a Redis that served another embedder keeps working.
                RedisStore(
                    redis_client=client,
                    index=index,
                    vector_prefix=f"store_vectors_d{index['dims']}" if index else "store_vectors",
                )
            )
            await store.setup()
            yield cls(url, saver, store, RedisThreadRegistry(client), runs=RedisRunRegistry(client))

    @property
    def coordination_url(self) -> str | None:
        """The same Redis: replicas that share the sessions share the runs too."""
        return self.url

    def documents(self, kind: str) -> DocumentTable:
        """See :meth:`Backend.documents`: one hash per kind, shared by the replicas."""
        assert isinstance(self.registry, RedisThreadRegistry)
        return RedisDocumentTable(self.registry.client, kind)

    async def head_checkpoint_id(self, thread_id: str) -> str | None:
        """See :meth:`Backend.head_checkpoint_id` (the saver's latest pointer, then the id alone)."""
        return await keys.head_checkpoint_id(self.checkpointer, thread_id)

    async def _prune(self, thread_ids: list[str], keep_latest: int) -> None:
        saver = self.checkpointer
        await saver.aprune(thread_ids, keep_last=keep_latest)
        for thread_id in thread_ids:
            docs = await keys.checkpoint_docs(saver, thread_id)
            kept = {(d.checkpoint_ns, d.checkpoint_id) for d in docs}
            for doc in docs:
                if doc.parent_checkpoint_id and (doc.checkpoint_ns, doc.parent_checkpoint_id) not in kept:
                    await keys.clear_parent(saver, doc)

    async def storage_stats(self, thread_id: str) -> StorageStats:
        """See :meth:`Backend.storage_stats`."""
        saver = self.checkpointer
        docs = await keys.checkpoint_docs(saver, thread_id)
        thread_keys = [*await keys.thread_keys(saver, thread_id), KEY_PREFIX + thread_id]
        return StorageStats(checkpoints=len(docs), bytes_stored=await keys.memory_usage(saver, thread_keys))

    async def refresh_expiry(self, thread_id: str, *, ttl_changed: bool = False) -> None:
        """Give the thread's checkpoint keys its registry TTL (none: make them persistent, which
        only a TTL change needs)."""
        info = await self.registry.get(thread_id)
        if info is None or (info.ttl_minutes is None and not ttl_changed):
            return
        seconds = None if info.ttl_minutes is None else int(info.ttl_minutes * 60)
        saver = self.checkpointer
        await keys.expire_keys(saver, await keys.thread_keys(saver, thread_id), seconds)

    def sweeper(self, interval_s: float, on_sweep: ExpiryListener | None = None) -> TTLSweeper | None:
        """``None``: Redis expires the keys itself."""
        return None
