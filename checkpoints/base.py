"""The one interface every session backend implements: :class:`Backend`.

A backend owns everything a session store needs, for one URL scheme: the LangGraph checkpointer
and store, the thread registry, the run records (:mod:`.runs`), checkpoint pruning, per-thread
storage statistics and thread expiry. Callers (the session facade, the API) use only this
interface; what a backend keeps in which table or key is its own business. Adding a backend
means one module (or small package) with a subclass, registered for its URL scheme
in :mod:`sessiongraph.checkpoints.factory`.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore, IndexConfig

from sessiongraph.checkpoints.assistants import AssistantRegistry
from sessiongraph.checkpoints.crons import CronRegistry
from sessiongraph.checkpoints.documents import DocumentTable, StoreDocumentTable
from sessiongraph.checkpoints.expiry import TTLSweeper, sweep_expired
from sessiongraph.checkpoints.registry import ThreadInfo, ThreadRegistry
from sessiongraph.checkpoints.runs import MemoryRunRegistry, RunRegistry
from sessiongraph.checkpoints.stats import StorageStats

PruneStrategy = Literal["delete", "keep_latest"]
ExpiryListener = Callable[[list[str]], Awaitable[None] | None]
DeleteListener = Callable[[str, ThreadInfo], Awaitable[None]]


class BackendURLError(ValueError):
    """The checkpoint URL cannot be opened; the message says what a valid one looks like."""


@dataclass(frozen=True)
class BackendOptions:
    """Tuning knobs some backends read (the others ignore them)."""

    sqlite_busy_timeout_ms: int = 5000
    """How long a SQLite connection waits for a lock before failing."""
    memory_max_threads: int = 10_000
    """Threads kept by ``memory://`` before the least recently used idle ones are evicted."""
    store_index: IndexConfig | None = None
    """The semantic index of the long-term memory store (``{"embed", "dims", "fields"}``); every
    backend whose store can index passes it to its store (a Postgres backend: to
    ``AsyncPostgresStore(conn, index=...)``), the others set :attr:`Backend.index_unavailable`."""
    postgres_pool_size: int = 20
    """Most connections a ``postgresql://`` backend opens (per process)."""


class Backend(abc.ABC):
    """An open session backend: checkpointer + store + registry, and the housekeeping on them."""

    name: ClassVar[str]
    """Short name shown to people (``/info``, the CLI); never switched on."""
    index_unavailable: str | None = None
    """Why the store has no semantic index although one was asked for (``None``: it has one, or
    none was asked for); memory recall then falls back to recency."""
    shared: ClassVar[bool] = False
    """Whether several processes may serve the same sessions from it at once (API workers and
    replicas); an in-process store or a single file is not."""

    def __init__(
        self,
        url: str,
        checkpointer: BaseCheckpointSaver,
        store: BaseStore,
        registry: ThreadRegistry,
        *,
        runs: RunRegistry | None = None,
    ) -> None:
        self.url = url
        self.checkpointer = checkpointer
        self.store = store
        self.registry = registry
        self._delete_listeners: list[DeleteListener] = []
        self.runs: RunRegistry = runs if runs is not None else MemoryRunRegistry()
        """The HTTP API's run records. A durable backend passes its own, so that runs survive a
        restart and crash recovery can find the runs a dead process left behind; the default
        keeps them in process memory."""

    @classmethod
    @abc.abstractmethod
    def open(cls, url: str, options: BackendOptions) -> contextlib.AbstractAsyncContextManager[Backend]:
        """Open the backend at ``url`` for the duration of an ``async with`` block (the factory
        sets up and closes the registry around it)."""

    async def ping(self) -> None:
        """Reach the store once (raises when it cannot be reached): what readiness checks."""
        await self.registry.get("00000000-0000-0000-0000-000000000000")

    @property
    def coordination_url(self) -> str | None:
        """Where API replicas sharing this backend coordinate their runs (thread locks, run
        records, streams); ``None``: this backend is for one process and coordination stays in it."""
        return None

    # --- assistants, crons and other documents ------------------------------------------------

    def documents(self, kind: str) -> DocumentTable:
        """The backend's table of ``kind`` documents (``assistants``, ``crons``, ``cron_ticks``).

        The default keeps them in the LangGraph store under a reserved namespace; backends
        override it with a native table whose insert-if-absent is atomic across replicas."""
        return StoreDocumentTable(self.store, kind)

    @cached_property
    def assistants(self) -> AssistantRegistry:
        """The persisted assistants."""
        return AssistantRegistry(self.documents("assistants"))

    @cached_property
    def crons(self) -> CronRegistry:
        """The persisted cron schedules."""
        return CronRegistry(self.documents("crons"), self.documents("cron_ticks"))

    async def migrate(self) -> str:
        """Bring the stored schema up to date (opening does it already); says where it stands."""
        return f"{self.name}: no schema to migrate"

    # --- threads -----------------------------------------------------------------------------

    async def delete_thread(self, thread_id: str) -> bool:
        """Delete the thread's checkpoints, its registry record and (through the listeners) what
        else was kept for it; ``False`` if it was unknown."""
        info = await self.registry.get(thread_id)
        await self.checkpointer.adelete_thread(thread_id)
        if info is not None:
            await self._thread_deleted(info)
        return await self.registry.delete(thread_id)

    async def _thread_deleted(self, info: ThreadInfo) -> None:
        for listener in self._delete_listeners:
            await listener(info.thread_id, info)

    def on_thread_deleted(self, listener: DeleteListener) -> None:
        """Call ``listener(thread_id, info)`` whenever a thread is deleted (by a caller, a prune or
        the TTL sweep), before its registry record goes; the session facade drops its memory."""
        self._delete_listeners.append(listener)

    async def head_checkpoint_id(self, thread_id: str) -> str | None:
        """The id of the thread's newest root checkpoint (``None`` without one), without loading it:
        what a turn remembers to roll back to. Backends with SQL read the id alone."""
        saved = await self.checkpointer.aget_tuple({"configurable": {"thread_id": thread_id}})
        return saved.config["configurable"]["checkpoint_id"] if saved else None

    async def discard_after(self, thread_id: str, checkpoint_id: str) -> bool:
        """Delete the thread's checkpoints newer than ``checkpoint_id``: a rollback that needs no
        space (a full disk refuses the usual one, which writes a copy). ``False`` where the
        backend cannot."""
        return False

    async def copy_checkpoints(self, source: str, target: str) -> None:
        """Copy every checkpoint (and pending write) of ``source`` to the thread ``target``,
        oldest first so parents exist before their children."""
        saver = self.checkpointer
        saved = [t async for t in saver.alist({"configurable": {"thread_id": source}})]
        for item in sorted(saved, key=lambda t: t.checkpoint["id"]):
            conf = item.config["configurable"]
            parent = (item.parent_config or {}).get("configurable", {}).get("checkpoint_id")
            put_config: RunnableConfig = {
                "configurable": {"thread_id": target, "checkpoint_ns": conf.get("checkpoint_ns", "")}
            }
            if parent:
                put_config["configurable"]["checkpoint_id"] = parent
            written = await saver.aput(
                put_config, item.checkpoint, item.metadata, item.checkpoint["channel_versions"]
            )
            by_task: dict[str, list[tuple[str, object]]] = {}
            for task_id, channel, value in item.pending_writes or []:
                by_task.setdefault(task_id, []).append((channel, value))
            for task_id, writes in by_task.items():
                await saver.aput_writes(written, writes, task_id)

    # --- retention ---------------------------------------------------------------------------

    @abc.abstractmethod
    async def _prune(self, thread_ids: list[str], keep_latest: int) -> None:
        """Keep the newest ``keep_latest`` checkpoints of each namespace of each thread."""

    async def prune_checkpoints(self, thread_ids: Iterable[str], keep_latest: int) -> None:
        """Keep only the newest ``keep_latest`` (>= 1) checkpoints of each namespace of each thread.

        The newest checkpoint and its pending writes (a pending interrupt) always stay, so the
        state and resuming are untouched; the oldest kept checkpoint becomes the thread's root.
        """
        if keep_latest < 1:
            raise ValueError("keep_latest must be >= 1; delete the thread to drop every checkpoint")
        ids = list(dict.fromkeys(thread_ids))
        if ids:
            await self._prune(ids, keep_latest)

    async def prune_threads(
        self, thread_ids: Sequence[str], strategy: PruneStrategy, keep_latest: int = 1
    ) -> int:
        """The Agent Protocol's prune: ``delete`` removes whole threads, ``keep_latest`` their old
        checkpoints. Returns how many of the given threads existed (and were pruned)."""
        if strategy not in ("delete", "keep_latest"):
            raise ValueError(f"unknown prune strategy {strategy!r}; use 'delete' or 'keep_latest'")
        existing = [t for t in dict.fromkeys(thread_ids) if await self.registry.get(t) is not None]
        if strategy == "delete":
            return sum([await self.delete_thread(t) for t in existing])
        await self.prune_checkpoints(existing, keep_latest)
        return len(existing)

    # --- statistics --------------------------------------------------------------------------

    @abc.abstractmethod
    async def storage_stats(self, thread_id: str) -> StorageStats:
        """Checkpoints and bytes the thread occupies (see each backend for what bytes means)."""

    # --- expiry ------------------------------------------------------------------------------

    async def refresh_expiry(self, thread_id: str, *, ttl_changed: bool = False) -> None:  # noqa: B027
        """Make the thread's stored data expire with its registry TTL (backends that expire
        natively; ``ttl_changed`` after the TTL was set or cleared); the others are swept by
        :meth:`sweeper`."""

    def sweeper(self, interval_s: float, on_sweep: ExpiryListener | None = None) -> TTLSweeper | None:
        """The background task that deletes expired threads (``None`` where the store expires
        them by itself)."""
        return TTLSweeper(self, interval_s, on_sweep=on_sweep)

    async def sweep_expired(self, at: float | None = None) -> list[str]:
        """Delete the threads idle past their TTL at time ``at`` (default: now); returns their ids."""
        return await sweep_expired(self, at)

    async def after_turn(self, thread_id: str, keep_latest: int | None) -> None:
        """Housekeeping after every turn: prune to ``keep_latest`` checkpoints, renew expiry."""
        if keep_latest is not None:
            await self.prune_checkpoints([thread_id], keep_latest)
        await self.refresh_expiry(thread_id)
