"""The thread registry: what the platform knows about each session thread besides its checkpoints.

Each thread records when it was created and last updated, its status (``idle``, ``busy``,
``interrupted``, ``error``), free-form metadata, its owner (the API key's owner; ``None`` when
auth is off) and an optional idle TTL in minutes. Implementations: memory, SQLite and Redis.
"""

from __future__ import annotations

import abc
import heapq
import operator
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
THREAD_STATUSES: tuple[ThreadStatus, ...] = ("idle", "busy", "interrupted", "error")
SortBy = Literal["thread_id", "status", "created_at", "updated_at"]
SORT_FIELDS: tuple[SortBy, ...] = ("thread_id", "status", "created_at", "updated_at")


class ThreadRegistryError(Exception):
    """Base class of registry errors."""


class ThreadNotFound(ThreadRegistryError, KeyError):
    """No thread with that id (or not one the caller may see)."""

    def __init__(self, thread_id: str) -> None:
        super().__init__(thread_id)
        self.thread_id = thread_id

    def __str__(self) -> str:
        return f"thread {self.thread_id!r} not found; create it first or check the id"


class ThreadExists(ThreadRegistryError):
    """A thread with that id exists already (and ``if_exists`` was ``raise``)."""

    def __init__(self, thread_id: str) -> None:
        super().__init__(f"thread {thread_id!r} already exists; use if_exists='do_nothing' to reuse it")
        self.thread_id = thread_id


@dataclass
class ThreadInfo:
    """One thread's registry record. Times are UNIX seconds (UTC)."""

    thread_id: str
    created_at: float
    updated_at: float
    status: ThreadStatus = "idle"
    metadata: dict[str, Any] = field(default_factory=dict)
    owner: str | None = None
    ttl_minutes: float | None = None

    def expired(self, now: float) -> bool:
        """Whether the thread has been idle longer than its TTL (busy threads never expire)."""
        return (
            self.ttl_minutes is not None
            and self.status != "busy"
            and now - self.updated_at > self.ttl_minutes * 60.0
        )

    def to_dict(self) -> dict[str, Any]:
        """A plain-dict copy."""
        return asdict(self)


@dataclass(frozen=True)
class ThreadQuery:
    """A search over threads: every given criterion must hold."""

    metadata: Mapping[str, Any] | None = None
    status: ThreadStatus | None = None
    owner: str | None = None
    thread_ids: Sequence[str] | None = None
    sort_by: SortBy = "updated_at"
    sort_order: Literal["asc", "desc"] = "desc"
    limit: int = 10
    offset: int = 0

    def matches(self, info: ThreadInfo) -> bool:
        """Whether ``info`` satisfies the filters (not the paging)."""
        if self.status is not None and info.status != self.status:
            return False
        if self.owner is not None and info.owner != self.owner:
            return False
        if self.thread_ids is not None and info.thread_id not in self.thread_ids:
            return False
        return all(info.metadata.get(k, _MISSING) == v for k, v in (self.metadata or {}).items())

    @property
    def filtered(self) -> bool:
        """Whether any criterion narrows the threads (else every thread matches)."""
        return bool(self.metadata) or any(
            value is not None for value in (self.status, self.owner, self.thread_ids)
        )

    def page(self, infos: Iterable[ThreadInfo]) -> list[ThreadInfo]:
        """Filter, sort and slice ``infos`` (ties broken by thread id for a stable order); only
        the page's ``offset + limit`` first threads are ever ordered."""
        wanted = self.offset + self.limit
        if self.limit <= 0 or wanted <= 0:
            return []
        chosen = (i for i in infos if self.matches(i)) if self.filtered else infos
        top = heapq.nlargest if self.sort_order == "desc" else heapq.nsmallest
        return top(wanted, chosen, key=operator.attrgetter(self.sort_by, "thread_id"))[self.offset :]


_MISSING = object()


def now() -> float:
    """The registry's clock (UNIX seconds)."""
    return time.time()


class ThreadRegistry(abc.ABC):
    """Storage of :class:`ThreadInfo` records."""

    async def setup(self) -> None:  # noqa: B027 - optional hook
        """Create tables or indexes (idempotent)."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    async def create(
        self,
        thread_id: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        owner: str | None = None,
        ttl_minutes: float | None = None,
        if_exists: Literal["raise", "do_nothing"] = "raise",
    ) -> ThreadInfo:
        """Register a new thread; with ``if_exists='do_nothing'`` return the existing one."""
        info = self.new_info(thread_id, metadata, owner, ttl_minutes)
        if await self.insert_if_absent(info):
            return info
        if if_exists == "raise":
            raise ThreadExists(thread_id)
        return await self.require(thread_id)

    @abc.abstractmethod
    async def insert_if_absent(self, info: ThreadInfo) -> bool:
        """Store ``info`` unless its thread id exists (atomically); whether it was stored."""

    @abc.abstractmethod
    async def get(self, thread_id: str) -> ThreadInfo | None:
        """The thread's record, or ``None``."""

    @abc.abstractmethod
    async def search(self, query: ThreadQuery) -> list[ThreadInfo]:
        """Threads matching ``query``, sorted and paged."""

    @abc.abstractmethod
    async def count(self, query: ThreadQuery) -> int:
        """How many threads match ``query``'s filters."""

    @abc.abstractmethod
    async def save(self, info: ThreadInfo) -> None:
        """Write a record back (insert or replace)."""

    @abc.abstractmethod
    async def delete(self, thread_id: str) -> bool:
        """Remove a record; ``False`` when there was none."""

    async def require(self, thread_id: str) -> ThreadInfo:
        """The thread's record, or :class:`ThreadNotFound`."""
        info = await self.get(thread_id)
        if info is None:
            raise ThreadNotFound(thread_id)
        return info

    async def update(
        self,
        thread_id: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        ttl_minutes: float | Literal["keep"] | None = "keep",
        status: ThreadStatus | None = None,
    ) -> ThreadInfo:
        """Merge ``metadata`` into the record, set TTL/status, and bump ``updated_at``."""
        info = await self.require(thread_id)
        if metadata:
            info.metadata = {**info.metadata, **metadata}
        if ttl_minutes != "keep":
            info.ttl_minutes = ttl_minutes
        if status is not None:
            info.status = status
        info.updated_at = max(now(), info.updated_at)
        await self.save(info)
        return info

    async def set_status(self, thread_id: str, status: ThreadStatus) -> None:
        """Record a status change (a no-op for a thread that was deleted meanwhile)."""
        info = await self.get(thread_id)
        if info is not None:
            info.status = status
            info.updated_at = max(now(), info.updated_at)
            await self.save(info)

    async def expired(self, at: float | None = None) -> list[str]:
        """Ids of threads idle past their TTL at time ``at`` (default: now)."""
        moment = now() if at is None else at
        infos = await self.search(ThreadQuery(limit=2**31, sort_by="updated_at", sort_order="asc"))
        return [i.thread_id for i in infos if i.expired(moment)]

    @staticmethod
    def new_info(
        thread_id: str, metadata: Mapping[str, Any] | None, owner: str | None, ttl_minutes: float | None
    ) -> ThreadInfo:
        """A fresh record stamped with the current time."""
        stamp = now()
        return ThreadInfo(
            thread_id=thread_id,
            created_at=stamp,
            updated_at=stamp,
            metadata=dict(metadata or {}),
            owner=owner,
            ttl_minutes=ttl_minutes,
        )
