"""The Redis client every part of sessiongraph opens: explicit timeouts, health checks, few retries,
and a blocking pool.

redis-py's default pool refuses a command once 100 connections are in use (``MaxConnectionsError``
at once), which a server with a few hundred runs in flight reaches; the pool here holds up to
:data:`MAX_CONNECTIONS` and makes a command wait up to :data:`POOL_WAIT_S` for a free one.

No wait a server-side command makes (a ``BLPOP`` or ``XREAD BLOCK``) may reach the client's
socket timeout, or a healthy but quiet connection would be torn down mid-wait: callers block
for at most :data:`MAX_BLOCK_S` at a time and loop. While Redis is down a command fails after
one quick retry (``ConnectionError`` / ``TimeoutError``), and pooled connections are checked
before reuse, so the server recovers by itself when Redis comes back.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

SOCKET_TIMEOUT_S = 5.0
"""Longest wait for any reply."""
CONNECT_TIMEOUT_S = 2.0
"""Longest wait to open a connection."""
MAX_BLOCK_S = 2.0
"""Longest server-side blocking wait (well under :data:`SOCKET_TIMEOUT_S`)."""
HEALTH_CHECK_S = 5
"""A pooled connection idle this long is pinged before reuse."""
MAX_CONNECTIONS = 512
"""Most connections one client (one process) opens."""
POOL_WAIT_S = 10.0
"""Longest wait for a free pooled connection (then a ``ConnectionError``: the store is busy)."""


def client_options() -> dict[str, Any]:
    """Keyword arguments of ``Redis.from_url`` (see the module docstring)."""
    return {
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "health_check_interval": HEALTH_CHECK_S,
        "retry": Retry(ExponentialBackoff(cap=0.2, base=0.05), retries=1),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }


def connect(url: str) -> Redis:
    """A client of ``url`` with :func:`client_options` over a blocking pool (closed with it)."""
    pool = BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_S, **client_options()
    )
    return Redis.from_pool(pool)
