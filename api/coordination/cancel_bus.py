"""Cancel requests between replicas over Redis pub/sub.

A replica asked to cancel a run that executes elsewhere publishes the request on
``sessiongraph:cancel``; every replica listens, and the one executing the run cancels it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from sessiongraph.api.background import in_background
from sessiongraph.api.serialize import dumps, loads
from sessiongraph.lifecycle import CancelAction

log = logging.getLogger("sessiongraph.api.coordination.cancel_bus")

CANCEL_CHANNEL = "sessiongraph:cancel"
_RECONNECT_DELAY_S = 1.0

CancelHandler = Callable[[str, CancelAction], Awaitable[None]]
"""Called with ``(run_id, action)`` for every cancel request heard."""


class RedisCancelBus:
    """Publish cancel requests, and hand the ones heard to a handler while :meth:`listening`."""

    def __init__(self, client: Redis) -> None:
        self._client = client

    async def publish(self, run_id: str, action: CancelAction) -> None:
        """Ask every replica to cancel ``run_id`` (only the one executing it acts)."""
        await self._client.publish(CANCEL_CHANNEL, dumps({"run_id": run_id, "action": action}))

    @contextlib.asynccontextmanager
    async def listening(self, handler: CancelHandler) -> AsyncIterator[None]:
        """Subscribe (confirmed before this enters) and pass every request to ``handler``."""
        pubsub = self._client.pubsub()
        await self._subscribe(pubsub)
        try:
            async with in_background(self._listen(pubsub, handler), "cancel-listener"):
                yield
        finally:
            await pubsub.aclose()

    @staticmethod
    async def _subscribe(pubsub: PubSub) -> None:
        await pubsub.subscribe(CANCEL_CHANNEL)
        while (await pubsub.get_message(timeout=None)) is None:
            pass

    async def _listen(self, pubsub: PubSub, handler: CancelHandler) -> None:
        while True:
            try:
                async for message in pubsub.listen():
                    if message["type"] != "message":
                        continue
                    request = loads(message["data"])
                    try:
                        await handler(request["run_id"], request["action"])
                    except Exception:
                        log.exception("cancel request %r failed", request)
            except RedisError:
                log.exception("cancel listener lost Redis; reconnecting")
                await asyncio.sleep(_RECONNECT_DELAY_S)
