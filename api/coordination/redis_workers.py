"""The Redis :class:`Workers`: each replica holds a lease key it renews with heartbeats.

``sessiongraph:worker:<id>`` lives ``lease_s`` seconds and is renewed every ``lease_s / 3``;
a replica killed (or cut off from Redis) stops renewing, its key lapses, and the runs it
owned are reclaimed by the others (:meth:`RunManager.recover`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

from sessiongraph.api.background import in_background
from sessiongraph.api.coordination.interfaces import Workers

log = logging.getLogger("sessiongraph.api.coordination.redis_workers")

WORKER_PREFIX = "sessiongraph:worker:"
CLAIM_PREFIX = "sessiongraph:reclaim:"


class RedisWorkers(Workers):
    """Replica leases in Redis (see the module docstring)."""

    def __init__(self, client: Redis, *, lease_s: float = 15.0) -> None:
        self._client = client
        self.lease_s = lease_s
        self.worker_id = uuid.uuid4().hex

    async def alive(self, worker_id: str | None) -> bool:
        """See :meth:`Workers.alive`."""
        if worker_id is None:
            return False
        if worker_id == self.worker_id:
            return True
        return bool(await self._client.exists(WORKER_PREFIX + worker_id))

    async def claim(self, run_id: str) -> bool:
        """See :meth:`Workers.claim`: ``SET NX`` with a lease (a claimer that dies lets go)."""
        key = f"{CLAIM_PREFIX}{run_id}"
        return bool(await self._client.set(key, self.worker_id, nx=True, px=int(self.lease_s * 4000)))

    async def _renew(self) -> None:
        await self._client.set(WORKER_PREFIX + self.worker_id, "1", px=int(self.lease_s * 1000))

    @contextlib.asynccontextmanager
    async def heartbeats(self) -> AsyncIterator[None]:
        """See :meth:`Workers.heartbeats`."""
        with contextlib.suppress(RedisError):
            await self._renew()
        try:
            async with in_background(self._beat(), "worker-heartbeat"):
                yield
        finally:
            with contextlib.suppress(RedisError):
                await self._client.delete(WORKER_PREFIX + self.worker_id)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                await self._renew()
            except RedisError as exc:
                log.warning("worker heartbeat failed (Redis unreachable?): %r", exc)
