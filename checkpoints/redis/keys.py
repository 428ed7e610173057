"""Find every Redis key that holds one thread's checkpoints (for expiry, pruning and stats).

``AsyncRedisSaver`` (langgraph-checkpoint-redis 0.5) keeps a thread in four kinds of keys:
checkpoint documents ``checkpoint:<thread>:<ns>:<id>`` (channel values inline), write documents
``checkpoint_write:<thread>:<ns>:<id>:<task>:<idx>``, one ``checkpoint_latest:<thread>:<ns>``
pointer per namespace, and a ``write_keys_zset:...`` sorted set per checkpoint. The documents are
found through the saver's RediSearch indexes (by the ``thread_id`` tag), the same way the saver's
own ``adelete_thread`` finds them, so no ``SCAN`` over the keyspace is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from redisvl.query import FilterQuery
from redisvl.query.filter import Tag

if TYPE_CHECKING:
    from langgraph.checkpoint.redis.aio import AsyncRedisSaver

MAX_DOCS = 10_000
"""Most documents fetched per index and thread (the saver's own limit)."""


@dataclass(frozen=True)
class CheckpointDoc:
    """One checkpoint document of a thread."""

    key: str
    checkpoint_ns: str
    checkpoint_id: str
    parent_checkpoint_id: str


async def checkpoint_docs(saver: AsyncRedisSaver, thread_id: str) -> list[CheckpointDoc]:
    """The thread's checkpoint documents, every namespace, newest first."""
    from langgraph.checkpoint.redis.util import (
        from_storage_safe_id,
        from_storage_safe_str,
        to_storage_safe_id,
    )

    query = FilterQuery(
        filter_expression=Tag("thread_id") == to_storage_safe_id(thread_id),
        return_fields=["checkpoint_ns", "checkpoint_id", "parent_checkpoint_id"],
        num_results=MAX_DOCS,
    )
    result = await saver.checkpoints_index.search(query)
    docs = [
        CheckpointDoc(
            key=doc.id,
            checkpoint_ns=from_storage_safe_str(getattr(doc, "checkpoint_ns", "")),
            checkpoint_id=from_storage_safe_id(getattr(doc, "checkpoint_id", "")),
            parent_checkpoint_id=from_storage_safe_id(getattr(doc, "parent_checkpoint_id", "") or ""),
        )
        for doc in result.docs
    ]
    return sorted(docs, key=lambda d: d.checkpoint_id, reverse=True)


async def thread_keys(saver: AsyncRedisSaver, thread_id: str) -> list[str]:
    """Every key holding the thread's checkpoints and writes (registry record not included)."""
    from langgraph.checkpoint.redis.util import to_storage_safe_id

    docs = await checkpoint_docs(saver, thread_id)
    keys = [d.key for d in docs]
    writes = await saver.checkpoint_writes_index.search(
        FilterQuery(
            filter_expression=Tag("thread_id") == to_storage_safe_id(thread_id),
            return_fields=["checkpoint_id"],
            num_results=MAX_DOCS,
        )
    )
    keys += [doc.id for doc in writes.docs]
    for ns in {d.checkpoint_ns for d in docs}:
        keys.append(saver._make_redis_checkpoint_latest_key(thread_id, ns))
    registry = saver._key_registry
    if registry is not None:
        keys += [registry.make_write_keys_zset_key(thread_id, d.checkpoint_ns, d.checkpoint_id) for d in docs]
    return keys


async def expire_keys(saver: AsyncRedisSaver, keys: list[str], seconds: int | None) -> None:
    """Give ``keys`` a TTL of ``seconds`` (``None``: make them persistent again)."""
    if not keys:
        return
    pipe = saver._redis.pipeline(transaction=False)
    for key in keys:
        if seconds is None:
            pipe.persist(key)
        else:
            pipe.expire(key, max(1, int(seconds)))
    await pipe.execute()


async def memory_usage(saver: AsyncRedisSaver, keys: list[str]) -> int:
    """Bytes Redis reports for ``keys`` (``MEMORY USAGE``; keys that vanished count 0)."""
    if not keys:
        return 0
    pipe = saver._redis.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key, samples=0)
    return sum(int(size or 0) for size in await pipe.execute())


async def clear_parent(saver: AsyncRedisSaver, doc: CheckpointDoc) -> None:
    """Make a checkpoint a root of its thread (its parent was pruned)."""
    await saver._redis.json().set(doc.key, "$.parent_checkpoint_id", "")


async def head_checkpoint_id(saver: AsyncRedisSaver, thread_id: str) -> str | None:
    """The id of the thread's newest root checkpoint, as ``aget_tuple`` finds it (through the
    ``checkpoint_latest`` pointer), reading only the id instead of the whole document."""
    from langgraph.checkpoint.redis.util import from_storage_safe_id

    key = await saver._redis.get(saver._make_redis_checkpoint_latest_key(thread_id, ""))
    if not key:
        return None
    found = await saver._redis.json().get(key.decode() if isinstance(key, bytes) else key, "$.checkpoint_id")
    if not isinstance(found, list) or not found:
        return None
    return str(from_storage_safe_id(str(found[0])))
