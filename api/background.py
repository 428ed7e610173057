"""A background task that lives as long as an ``async with`` block (heartbeats, listeners, sweeps)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any


@contextlib.asynccontextmanager
async def in_background(coro: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """Run ``coro`` as a task while inside; on exit cancel it and wait until it has stopped.

    Example::

        async with in_background(self._beat(), "worker-heartbeat"):
            yield
    """
    task = asyncio.create_task(coro, name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
