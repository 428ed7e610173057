"""Checkpoint retention: keep the newest N checkpoints of a thread, on every backend.

Every step of a LangGraph run writes a checkpoint holding the whole state, so a long session
stores hundreds of copies of its conversation. :func:`prune_checkpoints` keeps the newest
``keep_latest`` checkpoints of each namespace of a thread and deletes the rest with their
pending writes. The newest checkpoint (and its pending writes, such as a pending interrupt) is
always kept, so the state, the running summary and resuming are untouched; ``get_state`` and
``get_state_history`` keep working, and time travel works within the kept window. The oldest kept
checkpoint becomes the root of the thread: its parent pointer is cleared, so no checkpoint points
at one that no longer exists.

=========  ===========================================================================
backend    how
=========  ===========================================================================
memory     ``InMemorySaver`` has no pruning: entries are dropped from its dicts, and a
           channel blob goes once no kept checkpoint references its version
sqlite     ``AsyncSqliteSaver`` has no pruning: rows of ``checkpoints`` and ``writes``
           older than the N-th newest are deleted, then ``PRAGMA incremental_vacuum``
           gives the pages back to the file system (when ``auto_vacuum`` is incremental,
           which :mod:`sessiongraph.checkpoints.backends` sets on new files)
redis      ``AsyncRedisSaver.aprune(keep_last=N)`` (channel values are stored inline)
=========  ===========================================================================
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

if TYPE_CHECKING:
    import aiosqlite

    from sessiongraph.checkpoints.backends import Backend

log = logging.getLogger("sessiongraph.checkpoints.retention")

PruneStrategy = Literal["delete", "keep_latest"]


class RetentionUnsupported(TypeError):
    """The checkpointer is of a kind this module cannot prune."""


async def prune_checkpoints(
    checkpointer: BaseCheckpointSaver, thread_ids: Iterable[str], keep_latest: int
) -> None:
    """Keep only the newest ``keep_latest`` (>= 1) checkpoints of each namespace of each thread."""
    if keep_latest < 1:
        raise ValueError("keep_latest must be >= 1; delete the thread to drop every checkpoint")
    ids = list(dict.fromkeys(thread_ids))
    if not ids:
        return
    if isinstance(checkpointer, InMemorySaver):
        for thread_id in ids:
            _prune_memory(checkpointer, thread_id, keep_latest)
        return
    kind = type(checkpointer).__name__
    if kind == "AsyncSqliteSaver":
        for thread_id in ids:
            await _prune_sqlite(checkpointer, thread_id, keep_latest)
        return
    if kind == "AsyncRedisSaver":
        await _prune_redis(checkpointer, ids, keep_latest)
        return
    raise RetentionUnsupported(f"cannot prune checkpoints of a {kind}; use memory, SQLite or Redis")


async def prune_threads(
    backend: Backend, thread_ids: Sequence[str], strategy: PruneStrategy, keep_latest: int = 1
) -> int:
    """The Agent Protocol's prune: ``delete`` removes whole threads, ``keep_latest`` their old
    checkpoints. Returns how many of the given threads existed (and were pruned)."""
    if strategy not in ("delete", "keep_latest"):
        raise ValueError(f"unknown prune strategy {strategy!r}; use 'delete' or 'keep_latest'")
    pruned = 0
    existing = []
    for thread_id in dict.fromkeys(thread_ids):
        if await backend.registry.get(thread_id) is None:
            continue
        existing.append(thread_id)
        if strategy == "delete":
            pruned += await backend.delete_thread(thread_id)
    if strategy == "keep_latest":
        await prune_checkpoints(backend.checkpointer, existing, keep_latest)
        pruned = len(existing)
    return pruned


# --- memory ------------------------------------------------------------------------------


def _prune_memory(saver: InMemorySaver, thread_id: str, keep: int) -> None:
    namespaces = saver.storage.get(thread_id)
    if not namespaces:
        return
    for ns, checkpoints in list(namespaces.items()):
        ordered = sorted(checkpoints, reverse=True)
        kept, dropped = ordered[:keep], ordered[keep:]
        if not dropped:
            continue
        # Every blob is referenced by the checkpoint that wrote it, so the only blobs that can
        # become unreferenced are those of the dropped checkpoints.
        candidates = {
            (channel, version)
            for checkpoint_id in dropped
            for channel, version in _versions(saver, checkpoints[checkpoint_id][0]).items()
        }
        for checkpoint_id in dropped:
            del checkpoints[checkpoint_id]
            saver.writes.pop((thread_id, ns, checkpoint_id), None)
        referenced = {
            (channel, version)
            for checkpoint_id in kept
            for channel, version in _versions(saver, checkpoints[checkpoint_id][0]).items()
        }
        for channel, version in candidates - referenced:
            saver.blobs.pop((thread_id, ns, channel, version), None)
        gone = set(dropped)
        for checkpoint_id in kept:
            checkpoint, metadata, parent = checkpoints[checkpoint_id]
            if parent in gone:
                checkpoints[checkpoint_id] = (checkpoint, metadata, None)


def _versions(saver: InMemorySaver, serialized: tuple[str, bytes]) -> dict[str, Any]:
    return dict(saver.serde.loads_typed(serialized).get("channel_versions", {}))


# --- SQLite ------------------------------------------------------------------------------


async def _prune_sqlite(saver: Any, thread_id: str, keep: int) -> None:
    conn: aiosqlite.Connection = saver.conn
    async with saver.lock:
        async with conn.execute(
            "SELECT DISTINCT checkpoint_ns FROM checkpoints WHERE thread_id = ?", (thread_id,)
        ) as cursor:
            namespaces = [row[0] for row in await cursor.fetchall()]
        deleted = 0
        for ns in namespaces:
            deleted += await _prune_sqlite_namespace(conn, thread_id, ns, keep)
        if deleted:
            await incremental_vacuum(conn)


async def _prune_sqlite_namespace(conn: aiosqlite.Connection, thread_id: str, ns: str, keep: int) -> int:
    async with conn.execute(
        "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? "
        "ORDER BY checkpoint_id DESC LIMIT 1 OFFSET ?",
        (thread_id, ns, keep - 1),
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return 0
    oldest_kept = row[0]
    where = "thread_id = ? AND checkpoint_ns = ? AND checkpoint_id < ?"
    params = (thread_id, ns, oldest_kept)
    await conn.execute("BEGIN IMMEDIATE")
    try:
        cursor = await conn.execute(f"DELETE FROM checkpoints WHERE {where}", params)
        deleted = cursor.rowcount
        await conn.execute(f"DELETE FROM writes WHERE {where}", params)
        await conn.execute(
            "UPDATE checkpoints SET parent_checkpoint_id = NULL "
            "WHERE thread_id = ? AND checkpoint_ns = ? AND parent_checkpoint_id < ?",
            params,
        )
        await conn.execute("COMMIT")
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    return max(deleted, 0)


async def incremental_vacuum(conn: aiosqlite.Connection) -> int:
    """Give free pages back to the file system; returns the pages still free afterwards.

    Does nothing on a file created without ``auto_vacuum = INCREMENTAL`` (a one-off ``VACUUM``
    converts an older file, see :func:`enable_incremental_vacuum`).
    """
    async with conn.execute("PRAGMA auto_vacuum") as cursor:
        mode = (await cursor.fetchone() or (0,))[0]
    if mode == 2:
        # The pragma frees one page per step; ``execute`` steps once, ``executescript`` to the end.
        await conn.executescript("PRAGMA incremental_vacuum;")
    async with conn.execute("PRAGMA freelist_count") as cursor:
        return int((await cursor.fetchone() or (0,))[0])


async def enable_incremental_vacuum(conn: aiosqlite.Connection) -> None:
    """Switch an existing SQLite file to incremental auto-vacuum (rewrites the file once)."""
    await conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    await conn.execute("VACUUM")


# --- Redis -------------------------------------------------------------------------------


async def _prune_redis(saver: Any, thread_ids: list[str], keep: int) -> None:
    from sessiongraph.checkpoints.redis_keys import checkpoint_docs, clear_parent

    await saver.aprune(thread_ids, keep_last=keep)
    for thread_id in thread_ids:
        docs = await checkpoint_docs(saver, thread_id)
        kept = {(d.checkpoint_ns, d.checkpoint_id) for d in docs}
        for doc in docs:
            if doc.parent_checkpoint_id and (doc.checkpoint_ns, doc.parent_checkpoint_id) not in kept:
                await clear_parent(saver, doc)
