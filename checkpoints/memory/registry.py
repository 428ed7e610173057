"""In-process thread registry (``memory://``), with least-recently-used eviction of idle threads."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable

from sessiongraph.checkpoints.registry import ThreadInfo, ThreadQuery, ThreadRegistry


class MemoryThreadRegistry(ThreadRegistry):
    """Threads in a dict; past ``max_threads`` the least recently used idle threads are evicted.

    ``on_evict`` is awaited with the evicted thread's record so the caller can drop its
    checkpoints and memory.
    """

    def __init__(
        self, max_threads: int = 10_000, on_evict: Callable[[ThreadInfo], Awaitable[None]] | None = None
    ) -> None:
        self._threads: OrderedDict[str, ThreadInfo] = OrderedDict()
        self.max_threads = max_threads
        self.on_evict = on_evict

    async def insert_if_absent(self, info: ThreadInfo) -> bool:
        if info.thread_id in self._threads:
            return False
        await self.save(info)
        return True

    async def get(self, thread_id: str) -> ThreadInfo | None:
        info = self._threads.get(thread_id)
        if info is not None:
            self._threads.move_to_end(thread_id)
        return info

    async def search(self, query: ThreadQuery) -> list[ThreadInfo]:
        # Most recently used last, which is close to newest last: the top-k pass then rarely
        # replaces its candidates when it reads newest first.
        threads = self._threads.values()
        return query.page(reversed(threads) if query.sort_order == "desc" else threads)

    async def count(self, query: ThreadQuery) -> int:
        if not query.filtered:
            return len(self._threads)
        return sum(1 for info in self._threads.values() if query.matches(info))

    async def save(self, info: ThreadInfo) -> None:
        self._threads[info.thread_id] = info
        self._threads.move_to_end(info.thread_id)
        await self._evict()

    async def delete(self, thread_id: str) -> bool:
        return self._threads.pop(thread_id, None) is not None

    async def _evict(self) -> None:
        overflow = len(self._threads) - self.max_threads
        if overflow <= 0:
            return
        victims = [tid for tid, info in self._threads.items() if info.status in ("idle", "error")][:overflow]
        for thread_id in victims:
            info = self._threads.pop(thread_id)
            if self.on_evict is not None:
                await self.on_evict(info)
