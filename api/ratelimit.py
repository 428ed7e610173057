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
    """Checks one hit per request against every configured limit for the caller's key.

    ``namespace`` keeps separate limiters (requests, failed authentications) apart in one storage;
    ``what`` names the limit in the 429's detail.
    """

    def __init__(
        self,
        rate_limit: str,
        storage_url: str,
        *,
        namespace: str = "sessiongraph",
        what: str = "rate limit {item} exceeded for this API key",
    ) -> None:
        self.items: list[RateLimitItem] = (
            parse_many(rate_limit) if rate_limit.strip() not in ("", "0") else []
        )
        url = storage_url if storage_url.startswith("async+") else f"async+{storage_url}"
        options = {"implementation": "redispy"} if "redis" in url.split("://", 1)[0] else {}
        self.storage = storage_from_string(url, **options)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.namespace = namespace
        self.what = what

    async def hit(self, key: str) -> None:
        """Count a request for ``key``; raise 429 with ``Retry-After`` when over a limit."""
        for item in self.items:
            if not await self.limiter.hit(item, self.namespace, key):
                raise await self._refusal(item, key)

    async def check(self, key: str) -> None:
        """Raise 429 with ``Retry-After`` when ``key`` has spent a limit, without counting a hit."""
        for item in self.items:
            if not await self.limiter.test(item, self.namespace, key):
                raise await self._refusal(item, key)

    async def count(self, key: str) -> None:
        """Count one hit for ``key`` (never raises for being over)."""
        for item in self.items:
            await self.limiter.hit(item, self.namespace, key)

    async def _refusal(self, item: RateLimitItem, key: str) -> TooManyRequests:
        stats = await self.limiter.get_window_stats(item, self.namespace, key)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        return TooManyRequests(
            f"{self.what.format(item=item)}; retry in {retry} s", headers={"Retry-After": str(retry)}
        )
