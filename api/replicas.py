"""Which run coordination the app uses: in-process, or shared through Redis by several replicas.

With a Redis coordination URL (``Settings.coordination_url``, by default the checkpoint URL
when it is ``redis://``), every replica uses the Redis lock, run registry and stream broker on
one client, and listens on the ``sessiongraph:cancel`` channel: a replica asked to cancel a
run that executes elsewhere publishes the request there, and the replica running it cancels it.

Example::

    async with open_coordination(settings) as coordination:
        manager = RunManager(sessions, lock=coordination.lock, runs=coordination.runs,
                             broker=coordination.broker, ...)
        async with coordination.cancellation(manager):
            ...  # serve
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from sessiongraph.api.coordination import (
    MemoryRunRegistry,
    MemoryStreamBroker,
    MemoryThreadLock,
    RunRegistry,
    StreamBroker,
    ThreadLock,
)
from sessiongraph.api.coordination_redis import RedisRunRegistry, RedisThreadLock
from sessiongraph.api.coordination_streams import RedisStreamBroker
from sessiongraph.api.runs import CancelAction, RunManager
from sessiongraph.api.serialize import dumps, loads
from sessiongraph.settings import Settings

log = logging.getLogger("sessiongraph.api.replicas")

CANCEL_CHANNEL = "sessiongraph:cancel"
_RECONNECT_DELAY_S = 1.0


def coordination_url(settings: Settings) -> str | None:
    """The Redis URL runs are coordinated through, or ``None`` for in-process coordination."""
    url = settings.coordination_url
    if url is None and settings.checkpoint_url.startswith(("redis://", "rediss://")):
        url = settings.checkpoint_url
    return url if url is not None and url.startswith(("redis://", "rediss://")) else None


class RedisCancelBus:
    """Cancel requests between replicas over Redis pub/sub."""

    def __init__(self, client: Redis) -> None:
        self._client = client

    async def publish(self, run_id: str, action: CancelAction) -> None:
        """Ask every replica to cancel ``run_id`` (only the one executing it acts)."""
        await self._client.publish(CANCEL_CHANNEL, dumps({"run_id": run_id, "action": action}))

    @contextlib.asynccontextmanager
    async def listening(self, manager: RunManager) -> AsyncIterator[None]:
        """Subscribe (confirmed before this enters) and hand requests to ``manager.cancel_here``."""
        pubsub = self._client.pubsub()
        await self._subscribe(pubsub)
        task = asyncio.create_task(self._listen(pubsub, manager), name="cancel-listener")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await pubsub.aclose()

    @staticmethod
    async def _subscribe(pubsub: PubSub) -> None:
        await pubsub.subscribe(CANCEL_CHANNEL)
        while (await pubsub.get_message(timeout=None)) is None:
            pass

    async def _listen(self, pubsub: PubSub, manager: RunManager) -> None:
        while True:
            try:
                async for message in pubsub.listen():
                    if message["type"] != "message":
                        continue
                    request = loads(message["data"])
                    try:
                        await manager.cancel_here(request["run_id"], request["action"])
                    except Exception:
                        log.exception("cancel request %r failed", request)
            except RedisError:
                log.exception("cancel listener lost Redis; reconnecting")
                await asyncio.sleep(_RECONNECT_DELAY_S)


@dataclass
class Coordination:
    """The lock, registry and broker a :class:`RunManager` uses, and the cancel bus if shared."""

    lock: ThreadLock
    runs: RunRegistry
    broker: StreamBroker
    cancel_bus: RedisCancelBus | None = None

    @contextlib.asynccontextmanager
    async def cancellation(self, manager: RunManager) -> AsyncIterator[None]:
        """Route ``manager``'s cancels of other replicas' runs through the bus while inside."""
        if self.cancel_bus is None:
            yield
            return
        async with self.cancel_bus.listening(manager):
            manager.remote_cancel = self.cancel_bus.publish
            try:
                yield
            finally:
                manager.remote_cancel = None


@contextlib.asynccontextmanager
async def open_coordination(settings: Settings) -> AsyncIterator[Coordination]:
    """In-process coordination, or Redis coordination on one client (closed on exit)."""
    url = coordination_url(settings)
    if url is None:
        yield Coordination(
            MemoryThreadLock(), MemoryRunRegistry(), MemoryStreamBroker(heartbeat=settings.heartbeat_s)
        )
        return
    client = Redis.from_url(url)
    try:
        yield Coordination(
            RedisThreadLock(client),
            RedisRunRegistry(client),
            RedisStreamBroker(client, heartbeat=settings.heartbeat_s),
            RedisCancelBus(client),
        )
    finally:
        await client.aclose()
