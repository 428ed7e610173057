"""Open a session backend from a URL: checkpointer + store + thread registry.

======================  ==================================================================
URL                     backend
======================  ==================================================================
``memory://``           ``InMemorySaver`` + ``InMemoryStore``; LRU-capped thread count
``sqlite:///rel.db``    ``AsyncSqliteSaver`` + ``AsyncSqliteStore`` in one file (WAL, busy timeout);
``sqlite:////abs.db``   a relative path is resolved against the working directory
``redis://h:p/db``      ``AsyncRedisSaver`` + ``AsyncRedisStore`` (RedisJSON + RediSearch needed)
======================  ==================================================================

Example::

    async with open_backend("sqlite:///data/sessions.db") as backend:
        graph = build_graph(checkpointer=backend.checkpointer, store=backend.store)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore

from sessiongraph.checkpoints.registry import ThreadRegistry

BackendKind = Literal["memory", "sqlite", "redis"]


class BackendURLError(ValueError):
    """The checkpoint URL cannot be opened; the message says what a valid one looks like."""


@dataclass
class Backend:
    """An open session backend."""

    url: str
    kind: BackendKind
    checkpointer: BaseCheckpointSaver
    store: BaseStore
    registry: ThreadRegistry
    sqlite_path: Path | None = None

    async def delete_thread(self, thread_id: str) -> bool:
        """Delete the thread's checkpoints and its registry record; ``False`` if it was unknown."""
        await self.checkpointer.adelete_thread(thread_id)
        return await self.registry.delete(thread_id)


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite://`` URL (``None`` for ``sqlite:///:memory:``)."""
    raw = url.removeprefix("sqlite://")
    if not raw.startswith("/"):
        raise BackendURLError(f"{url!r}: write sqlite:///relative/path.db or sqlite:////absolute/path.db")
    raw = raw[1:]
    if raw in ("", ":memory:"):
        return None
    return Path(raw)


async def _connect_sqlite(path: Path | None, busy_timeout_ms: int) -> aiosqlite.Connection:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(str(path) if path else ":memory:", isolation_level=None)
    await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    if path is not None:
        # Takes effect only on a new, empty file (before the first table): pruned checkpoints then
        # give their pages back with PRAGMA incremental_vacuum (see checkpoints/retention.py).
        await conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
    return conn


@contextlib.asynccontextmanager
async def open_backend(
    url: str,
    *,
    busy_timeout_ms: int = 5000,
    memory_max_threads: int = 10_000,
) -> AsyncIterator[Backend]:
    """Open the backend named by ``url`` for the duration of the ``async with`` block."""
    scheme = urlparse(url).scheme
    async with contextlib.AsyncExitStack() as stack:
        if scheme == "memory":
            backend = _open_memory(url, memory_max_threads)
        elif scheme == "sqlite":
            backend = await _open_sqlite(url, busy_timeout_ms, stack)
        elif scheme in ("redis", "rediss"):
            backend = await _open_redis(url, stack)
        else:
            raise BackendURLError(
                f"unknown checkpoint URL {url!r}; use memory://, sqlite:///path/to/file.db or redis://host:port/db"
            )
        await backend.registry.setup()
        stack.push_async_callback(backend.registry.aclose)
        yield backend


def _open_memory(url: str, max_threads: int) -> Backend:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.store.memory import InMemoryStore

    from sessiongraph.checkpoints.registry_memory import MemoryThreadRegistry

    saver = InMemorySaver()
    registry = MemoryThreadRegistry(max_threads=max_threads, on_evict=saver.adelete_thread)
    return Backend(url=url, kind="memory", checkpointer=saver, store=InMemoryStore(), registry=registry)


async def _open_sqlite(url: str, busy_timeout_ms: int, stack: contextlib.AsyncExitStack) -> Backend:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
    from langgraph.store.sqlite.aio import AsyncSqliteStore

    from sessiongraph.checkpoints.registry_sqlite import SqliteThreadRegistry

    path = sqlite_path(url)
    connections = []
    # Saver, store and registry each get a connection so their transactions never interleave;
    # an in-memory database exists per connection, so there they must share one.
    for _ in range(3 if path is not None else 1):
        conn = await _connect_sqlite(path, busy_timeout_ms)
        stack.push_async_callback(conn.close)
        connections.append(conn)
    connections += [connections[0]] * (3 - len(connections))
    saver = AsyncSqliteSaver(connections[0])
    await saver.setup()
    store = AsyncSqliteStore(connections[1])
    await store.setup()
    registry = SqliteThreadRegistry(connections[2])
    return Backend(
        url=url, kind="sqlite", checkpointer=saver, store=store, registry=registry, sqlite_path=path
    )


async def _open_redis(url: str, stack: contextlib.AsyncExitStack) -> Backend:
    from langgraph.checkpoint.redis.aio import AsyncRedisSaver
    from langgraph.store.redis.aio import AsyncRedisStore
    from redis.asyncio import Redis

    from sessiongraph.checkpoints.registry_redis import RedisThreadRegistry

    saver = await stack.enter_async_context(AsyncRedisSaver.from_conn_string(url))
    await saver.asetup()
    store = await stack.enter_async_context(AsyncRedisStore.from_conn_string(url))
    registry = RedisThreadRegistry(Redis.from_url(url))
    return Backend(url=url, kind="redis", checkpointer=saver, store=store, registry=registry)
