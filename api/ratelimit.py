"""Per-key rate limiting with the ``limits`` library (moving window; memory or Redis storage).

``rate_limit`` uses the ``limits`` notation (``"120/minute"``, ``"10/second;1000/hour"``); an
empty string or ``"0"`` turns the limiter off.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from sessiongraph.api.errors import TooManyRequests


class RateLimiter:
    """Checks one hit per request against every configured limit for the caller's key."""

    def __init__(self, rate_limit: str, storage_url: str) -> None:
        self.items: list[RateLimitItem] = (
            parse_many(rate_limit) if rate_limit.strip() not in ("", "0") else []
        )
        url = storage_url if storage_url.startswith("async+") else f"async+{storage_url}"
        options = {"implementation": "redispy"} if "redis" in url.split("://", 1)[0] else {}
        self.storage = storage_from_string(url, **options)
        self.limiter = MovingWindowRateLimiter(self.storage)

    async def hit(self, key: str) -> None:
        """Count a request for ``key``; raise 429 with ``Retry-After`` when over a limit."""
        for item in self.items:
            if not await self.limiter.hit(item, "sessiongraph", key):
                stats = await self.limiter.get_window_stats(item, "sessiongraph", key)
                retry = max(1, math.ceil(stats.reset_time - time.time()))
                raise TooManyRequests(
                    f"rate limit {item} exceeded for this API key; retry in {retry} s",
                    headers={"Retry-After": str(retry)},
                )
