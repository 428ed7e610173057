"""Cancel requests between replicas: the interface the Redis and PostgreSQL buses share.

A replica asked to cancel a run that executes elsewhere publishes the request; every replica
listens, and the one executing the run cancels it. Implementations:
:class:`~sessiongraph.api.coordination.redis_cancel.RedisCancelBus` (pub/sub) and
:class:`~sessiongraph.api.coordination.postgres_cancel.PostgresCancelBus` (``NOTIFY``).
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Awaitable, Callable

from sessiongraph.lifecycle import CancelAction

CancelHandler = Callable[[str, CancelAction], Awaitable[None]]
"""Called with ``(run_id, action)`` for every cancel request heard."""


class CancelBus(abc.ABC):
    """Publish cancel requests, and hand the ones heard to a handler while :meth:`listening`."""

    @abc.abstractmethod
    async def publish(self, run_id: str, action: CancelAction) -> None:
        """Ask every replica to cancel ``run_id`` (only the one executing it acts)."""

    @abc.abstractmethod
    def listening(self, handler: CancelHandler) -> contextlib.AbstractAsyncContextManager[None]:
        """While inside (listening is confirmed before it enters), pass every request to ``handler``."""
