"""Cancel requests between replicas over Redis pub/sub (:class:`CancelBus`).

A replica asked to cancel a run that executes elsewhere publishes the request on
``sessiongraph:cancel``; every replica listens, and the one executing the run cancels it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from sessiongraph.api.background import in_background
from sessiongraph.api.coordination.cancel_bus import CancelBus, CancelHandler
from sessiongraph.api.serialize import dumps, loads
from sessiongraph.lifecycle import CancelAction

log = logging.getLogger("sessiongraph.api.coordination.redis_cancel")

CANCEL_CHANNEL = "sessiongraph:cancel"
_RECONNECT_DELAY_S = 1.0


class RedisCancelBus(CancelBus):
    """Cancel requests over Redis pub/sub (see the module docstring)."""

    def __init__(self, client: Redis) -> None:
        self._client = client

    async def publish(self, run_id: str, action: CancelAction) -> None:
        """See :meth:`CancelBus.publish`."""
        await self._client.publish(CANCEL_CHANNEL, dumps({"run_id": run_id, "action": action}))

    @contextlib.asynccontextmanager
    async def listening(self, handler: CancelHandler) -> AsyncIterator[None]:
        """See :meth:`CancelBus.listening`."""
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
            except RedisError as exc:
                # An outage is expected to happen; one line per attempt, no traceback.
                log.warning("cancel listener lost Redis (%s); reconnecting", exc)
                await asyncio.sleep(_RECONNECT_DELAY_S)
