"""Per-thread storage statistics, and the :class:`ThreadStats` record the facade returns.

What "bytes stored" means per backend: SQLite, the length of the thread's rows in ``checkpoints``
and ``writes`` (serialized checkpoint, metadata and write values); Redis, ``MEMORY USAGE`` of every
key of the thread (documents, pointers, write registries) plus its registry record; memory, the
length of the serialized checkpoints, blobs and writes the ``InMemorySaver`` holds for it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from langgraph.checkpoint.memory import InMemorySaver

if TYPE_CHECKING:
    from sessiongraph.checkpoints.backends import Backend


@dataclass(frozen=True)
class StorageStats:
    """What a thread occupies in the checkpoint store."""

    checkpoints: int
    bytes_stored: int


@dataclass(frozen=True)
class ThreadStats:
    """One thread's size: its conversation against the prompt budget, and its storage."""

    thread_id: str
    messages: int
    """Messages kept verbatim in the conversation."""
    prompt_tokens: int
    """Estimated tokens of the next prompt's persisted part: running summary + messages."""
    budget_tokens: int
    """The summarization trigger budget (``Context.summary_trigger_tokens``)."""
    budget_share: float
    """``prompt_tokens / budget_tokens``; above 1.0 the next turn summarizes first."""
    summary_chars: int
    summary_tokens: int
    summarized_messages: int
    """Messages folded into the summary so far."""
    checkpoints: int
    """Checkpoints stored for the thread (every namespace)."""
    bytes_stored: int
    """Bytes the thread occupies in the store (see the module docstring per backend)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``GET /threads/{id}/stats`` returns it as is)."""
        return asdict(self)


async def storage_stats(backend: Backend, thread_id: str) -> StorageStats:
    """Checkpoints and bytes the thread occupies in ``backend``."""
    saver = backend.checkpointer
    if isinstance(saver, InMemorySaver):
        return _memory_stats(saver, thread_id)
    if backend.kind == "sqlite":
        return await _sqlite_stats(saver, thread_id)
    if backend.kind == "redis":
        return await _redis_stats(backend, thread_id)
    raise TypeError(f"no storage stats for a {type(saver).__name__}")


def _memory_stats(saver: InMemorySaver, thread_id: str) -> StorageStats:
    count = 0
    size = 0
    for checkpoints in saver.storage.get(thread_id, {}).values():
        for checkpoint, metadata, _parent in checkpoints.values():
            count += 1
            size += len(checkpoint[1]) + len(metadata[1])
    size += sum(len(blob[1]) for key, blob in saver.blobs.items() if key[0] == thread_id)
    size += sum(
        len(write[2][1])
        for key, writes in saver.writes.items()
        if key[0] == thread_id
        for write in writes.values()
    )
    return StorageStats(checkpoints=count, bytes_stored=size)


async def _sqlite_stats(saver: Any, thread_id: str) -> StorageStats:
    async with saver.lock:
        async with saver.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(checkpoint) + LENGTH(metadata)), 0) "
            "FROM checkpoints WHERE thread_id = ?",
            (thread_id,),
        ) as cursor:
            count, checkpoint_bytes = await cursor.fetchone()
        async with saver.conn.execute(
            "SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes WHERE thread_id = ?", (thread_id,)
        ) as cursor:
            (write_bytes,) = await cursor.fetchone()
    return StorageStats(checkpoints=int(count), bytes_stored=int(checkpoint_bytes) + int(write_bytes))


async def _redis_stats(backend: Backend, thread_id: str) -> StorageStats:
    from sessiongraph.checkpoints.redis_keys import checkpoint_docs, memory_usage, thread_keys
    from sessiongraph.checkpoints.registry_redis import KEY_PREFIX

    saver: Any = backend.checkpointer
    docs = await checkpoint_docs(saver, thread_id)
    keys = [*await thread_keys(saver, thread_id), KEY_PREFIX + thread_id]
    return StorageStats(checkpoints=len(docs), bytes_stored=await memory_usage(saver, keys))
