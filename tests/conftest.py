"""Shared pytest fixtures for the sessiongraph test suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from support.openai_stub import OpenAIStubServer
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


# --- Backends and models shared by several test folders ---


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A ``sqlite:////abs/path`` checkpoint URL of a new SQLite file in the test's ``tmp_path``."""
    return f"sqlite:///{tmp_path / 'sessions.db'}"


@pytest.fixture(params=["sqlite", "redis"])
def durable_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """The durable backends in turn: a new SQLite file, a flushed Redis."""
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("redis_flushed_url")


@pytest.fixture(params=["memory", "sqlite", "redis"])
def backend_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """Each backend in turn: memory, a new SQLite file, a flushed Redis."""
    if request.param == "memory":
        return "memory://"
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("redis_flushed_url")


@pytest.fixture
def openai_stub() -> Iterator[OpenAIStubServer]:
    """A fresh OpenAI-compatible stub server (offline brain, rule-checking) for one test."""
    with OpenAIStubServer() as server:
        yield server
