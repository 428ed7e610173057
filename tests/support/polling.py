"""Bounded polling for conditions that become true in another task, thread or process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

DEADLINE_S = 15.0
INTERVAL_S = 0.01


async def until(
    check: Callable[[], Awaitable[bool]],
    what: str,
    *,
    timeout_s: float = DEADLINE_S,
    interval_s: float = INTERVAL_S,
) -> None:
    """Poll ``check`` until it is true; fail with "timed out waiting for <what>" after ``timeout_s``.

    Example::

        async def drained() -> bool:
            return await redis.llen(queue) == 0

        await until(drained, "the queue to drain")
    """
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(interval_s)
