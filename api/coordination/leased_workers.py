"""Workers that prove they are alive with a lease in a shared store (Redis, PostgreSQL).

Each process renews its lease every ``lease_s / 3`` seconds while :meth:`heartbeats` is entered
and drops it on the way out; a process killed (or cut off from the store) stops renewing, its
lease lapses, and the runs it owned are reclaimed by the others (:meth:`RunManager.recover`).
Subclasses say how a lease is renewed, read and dropped in their store.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import ClassVar

from sessiongraph.api.background import in_background
from sessiongraph.api.coordination.interfaces import Workers

log = logging.getLogger("sessiongraph.api.coordination.workers")


class LeasedWorkers(Workers):
    """:class:`Workers` over leases renewed by heartbeats (see the module docstring)."""

    store: ClassVar[str]
    """The store's name, for log lines."""
    store_errors: ClassVar[tuple[type[Exception], ...]]
    """What the store's client raises when the store cannot be reached."""

    def __init__(self, *, lease_s: float = 15.0) -> None:
        self.lease_s = lease_s
        self.worker_id = uuid.uuid4().hex

    async def alive(self, worker_id: str | None) -> bool:
        """See :meth:`Workers.alive`."""
        if worker_id is None:
            return False
        if worker_id == self.worker_id:
            return True
        return await self._lease_held(worker_id)

    @contextlib.asynccontextmanager
    async def heartbeats(self) -> AsyncIterator[None]:
        """See :meth:`Workers.heartbeats`."""
        await self._beat_once()
        try:
            async with in_background(self._beat(), "worker-heartbeat"):
                yield
        finally:
            with contextlib.suppress(*self.store_errors):
                await self._drop_lease()

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            await self._beat_once()

    async def _beat_once(self) -> None:
        try:
            await self._renew()
        except self.store_errors as exc:
            log.warning("worker heartbeat failed (%s unreachable?): %r", self.store, exc)
        except Exception:  # the heartbeats must go on whatever happened
            log.exception("worker heartbeat failed")

    @abc.abstractmethod
    async def _renew(self) -> None:
        """Renew this process's lease for ``lease_s`` seconds."""

    @abc.abstractmethod
    async def _lease_held(self, worker_id: str) -> bool:
        """Whether another process's lease is still current."""

    @abc.abstractmethod
    async def _drop_lease(self) -> None:
        """Give this process's lease up (it is stopping)."""
