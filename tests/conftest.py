"""Shared pytest fixtures for the sessiongraph test suite."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis
from support.redis_server import RedisServer, RedisUnavailable

# --- Redis ---


def _in_ci() -> bool:
    """True when running under CI (``CI=true``), where a missing Redis must fail, not skip."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _start_redis_server() -> RedisServer:
    """Start a RedisServer; on failure fail under CI, otherwise skip."""
    try:
        server = RedisServer()
        server.start()
        return server
    except RedisUnavailable as exc:
        message = f"Redis test server unavailable: {exc}"
    if _in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of one Valkey+RedisJSON+RediSearch server shared by the whole session.

    Skips dependent tests if the server cannot be started, except under ``CI=true``,
    where it fails them instead.
    """
    server = _start_redis_server()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_flushed_url(redis_url: str) -> str:
    """The session server's URL, after FLUSHALL (note: this also drops RediSearch indexes)."""
    client = redis.Redis.from_url(redis_url)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_url
