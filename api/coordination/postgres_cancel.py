"""Cancel requests between replicas over PostgreSQL ``NOTIFY`` (:class:`CancelBus`).

A replica asked to cancel a run that executes elsewhere sends ``NOTIFY sessiongraph_cancel``
with the request as JSON; every process hears it through its one :class:`PostgresListener`,
and the one executing the run cancels it. Each request is handled in a task of its own, so a
slow cancel never holds up the listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from psycopg_pool import AsyncConnectionPool

from sessiongraph.api.coordination.cancel_bus import CancelBus, CancelHandler
from sessiongraph.api.coordination.postgres_listener import PostgresListener
from sessiongraph.api.serialize import dumps, loads
from sessiongraph.lifecycle import CancelAction

log = logging.getLogger("sessiongraph.api.coordination.postgres_cancel")

CANCEL_CHANNEL = "sessiongraph_cancel"


class PostgresCancelBus(CancelBus):
    """Cancel requests over ``NOTIFY`` (see the module docstring)."""

    def __init__(self, pool: AsyncConnectionPool[Any], listener: PostgresListener) -> None:
        self._pool = pool
        self._handler: CancelHandler | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        listener.on(CANCEL_CHANNEL, self._heard)

    async def publish(self, run_id: str, action: CancelAction) -> None:
        """See :meth:`CancelBus.publish`."""
        payload = dumps({"run_id": run_id, "action": action}).decode()
        async with self._pool.connection() as conn:
            await conn.execute("SELECT pg_notify(%s, %s)", (CANCEL_CHANNEL, payload))

    @contextlib.asynccontextmanager
    async def listening(self, handler: CancelHandler) -> AsyncIterator[None]:
        """See :meth:`CancelBus.listening` (the listener listens before coordination opens)."""
        self._handler = handler
        try:
            yield
        finally:
            self._handler = None
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _heard(self, payload: str) -> None:
        if self._handler is None:
            return
        task = asyncio.create_task(self._handle(self._handler, payload), name="cancel-request")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _handle(handler: CancelHandler, payload: str) -> None:
        try:
            request = loads(payload)
            await handler(request["run_id"], request["action"])
        except Exception:
            log.exception("cancel request %r failed", payload)
