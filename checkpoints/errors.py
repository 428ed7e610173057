"""Failures of the store itself (not of a caller's request), recognised from the client
libraries' exceptions so that callers can answer them honestly.

- :class:`StoreUnavailable`: the store cannot be reached (Redis or PostgreSQL down, timed out,
  no pooled connection in time); retry later.
- :class:`StorageFull`: the store refuses writes for lack of space (SQLite ``SQLITE_FULL``,
  PostgreSQL ``disk_full``).

:func:`store_error` maps an exception raised anywhere below (the saver, a registry, a Redis
script) to one of these, or ``None`` when it is something else.
"""

from __future__ import annotations

import sqlite3

import psycopg
from psycopg_pool import PoolTimeout
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


class StoreError(Exception):
    """The session store failed; the message names it and says what to do."""

    retry_after_s = 5


class StoreUnavailable(StoreError):
    """The store cannot be reached right now."""

    def __init__(self, store: str, cause: BaseException) -> None:
        super().__init__(f"The {store} store is unavailable ({type(cause).__name__}: {cause}); retry shortly")
        self.store = store


class StorageFull(StoreError):
    """The store has no space left for writes."""

    def __init__(self, store: str) -> None:
        super().__init__(
            f"The {store} store is full: nothing was written. Free disk space (or prune threads) and retry"
        )
        self.store = store


STORE_EXCEPTIONS: tuple[type[Exception], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    sqlite3.DatabaseError,
    psycopg.OperationalError,
    PoolTimeout,
)
"""The client libraries' exceptions :func:`store_error` may recognise (for exception handlers)."""


def store_error(exc: BaseException) -> StoreError | None:
    """The store failure behind ``exc`` (itself, or a cause in its chain), or ``None``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, StoreError):
            return current
        if isinstance(current, RedisConnectionError | RedisTimeoutError):
            return StoreUnavailable("Redis", current)
        if isinstance(current, psycopg.errors.DiskFull):
            return StorageFull("PostgreSQL")
        if isinstance(current, psycopg.OperationalError | PoolTimeout):
            # Connection lost or refused, server shutting down, no pooled connection in time.
            return StoreUnavailable("PostgreSQL", current)
        if isinstance(current, sqlite3.DatabaseError) and (
            getattr(current, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "full" in str(current)
        ):
            return StorageFull("SQLite")
        current = current.__cause__ or current.__context__
    return None
