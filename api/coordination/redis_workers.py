"""The Redis :class:`Workers`: each replica holds a lease key it renews with heartbeats.

``sessiongraph:worker:<id>`` lives ``lease_s`` seconds and is renewed every ``lease_s / 3``;
a replica killed (or cut off from Redis) stops renewing, its key lapses, and the runs it
owned are reclaimed by the others (:meth:`RunManager.recover`).
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from sessiongraph.api.coordination.leased_workers import LeasedWorkers

WORKER_PREFIX = "sessiongraph:worker:"
CLAIM_PREFIX = "sessiongraph:reclaim:"


class RedisWorkers(LeasedWorkers):
    """Replica leases in Redis (see the module docstring)."""

    store = "Redis"
    store_errors = (RedisError,)

    def __init__(self, client: Redis, *, lease_s: float = 15.0) -> None:
        super().__init__(lease_s=lease_s)
        self._client = client

    async def claim(self, run_id: str) -> bool:
        """See :meth:`Workers.claim`: ``SET NX`` with a lease (a claimer that dies lets go)."""
        key = f"{CLAIM_PREFIX}{run_id}"
        return bool(await self._client.set(key, self.worker_id, nx=True, px=int(self.lease_s * 4000)))

    async def _renew(self) -> None:
        await self._client.set(WORKER_PREFIX + self.worker_id, "1", px=int(self.lease_s * 1000))

    async def _lease_held(self, worker_id: str) -> bool:
        return bool(await self._client.exists(WORKER_PREFIX + worker_id))

    async def _drop_lease(self) -> None:
        await self._client.delete(WORKER_PREFIX + self.worker_id)
