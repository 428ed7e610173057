"""Thread TTL: a thread idle for longer than its TTL is deleted with its checkpoints.

A thread's TTL (``ThreadInfo.ttl_minutes``; default ``Settings.thread_ttl_minutes``, or per thread
at creation) counts from its last update (``updated_at``: every turn, status change and metadata
update bumps it). Busy threads never expire.

- By default (memory, SQLite) :class:`TTLSweeper` deletes expired threads periodically (an
  asyncio task); :meth:`TTLSweeper.sweep` takes the time as an argument, so tests need no real
  waiting. ``Backend.sweeper`` returns it.
- A backend whose store expires keys by itself (Redis) returns no sweeper and implements
  ``Backend.refresh_expiry`` instead (see that backend's module).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sessiongraph.checkpoints.registry import now as registry_now

if TYPE_CHECKING:
    from sessiongraph.checkpoints.base import Backend

log = logging.getLogger("sessiongraph.checkpoints.expiry")


async def sweep_expired(backend: Backend, at: float | None = None) -> list[str]:
    """Delete every thread idle past its TTL at time ``at`` (default: now); returns their ids.

    Each candidate is checked again just before deletion, so a thread that started a turn in the
    meantime is spared.
    """
    moment = registry_now() if at is None else at
    deleted = []
    for thread_id in await backend.registry.expired(at=moment):
        info = await backend.registry.get(thread_id)
        if info is None or not info.expired(moment):
            continue
        if await backend.delete_thread(thread_id):
            deleted.append(thread_id)
    if deleted:
        log.info("deleted %d expired thread(s)", len(deleted))
    return deleted


class TTLSweeper:
    """Runs :func:`sweep_expired` every ``interval_s`` seconds in a background task.

    Example::

        sweeper = TTLSweeper(backend, interval_s=60)
        sweeper.start()
        ...
        await sweeper.stop()
    """

    def __init__(
        self,
        backend: Backend,
        interval_s: float,
        *,
        on_sweep: Callable[[list[str]], Awaitable[None] | None] | None = None,
    ) -> None:
        self.backend = backend
        self.interval_s = interval_s
        self.on_sweep = on_sweep
        """Called with the deleted ids after every sweep (observability and tests)."""
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the background task is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the background task (a no-op when it runs already)."""
        if not self.running:
            self._task = asyncio.create_task(self._loop(), name="sessiongraph-ttl-sweeper")

    async def stop(self) -> None:
        """Stop the background task and wait for it to end."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def sweep(self, at: float | None = None) -> list[str]:
        """One sweep now (or as if the time were ``at``)."""
        deleted = await sweep_expired(self.backend, at)
        if self.on_sweep is not None:
            result = self.on_sweep(deleted)
            if asyncio.iscoroutine(result):
                await result
        return deleted

    async def _loop(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("TTL sweep failed; retrying in %.0f s", self.interval_s)
            await asyncio.sleep(self.interval_s)
