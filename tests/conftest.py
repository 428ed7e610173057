"""Shared pytest fixtures for the sessiongraph test suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from support.openai_stub import OpenAIStubServer
from support.postgres_server import PostgresServer, PostgresUnavailable
from support.redis_server import RedisServer, RedisUnavailable
from support.started import started

# --- Redis ---


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of one Valkey+RedisJSON+RediSearch server shared by the whole session.

    Skips dependent tests if the server cannot be started, except under ``CI=true``,
    where it fails them instead.
    """
    with started(RedisServer(), "Redis", RedisUnavailable) as server:
        yield server.url


@pytest.fixture
def redis_flushed_url(redis_url: str) -> str:
    """The session server's URL, after FLUSHALL (note: this also drops RediSearch indexes)."""
    client = redis.Redis.from_url(redis_url)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_url


# --- PostgreSQL ---

KEPT_TABLES = ("checkpoint_migrations", "store_migrations", "vector_migrations", "sessiongraph_schema")
"""Schema-version tables: emptying them would make the next open set the schema up again."""


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a database on one PostgreSQL server shared by the whole session (started here,
    installed with apt-get when missing). Skips without Postgres, except under ``CI=true``."""
    with started(PostgresServer(), "PostgreSQL", PostgresUnavailable) as server:
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE sessiongraph")
        yield server.database_url("sessiongraph")


@pytest.fixture
def postgres_clean_url(postgres_url: str) -> str:
    """The session database's URL, every table emptied first (the schema stays: cheaper than a
    new database per test)."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND NOT tablename = ANY(%s)",
            (list(KEPT_TABLES),),
        ).fetchall()
        if rows:
            conn.execute("TRUNCATE " + ", ".join(f'"{name}"' for (name,) in rows))
    return postgres_url


# --- Backends and models shared by several test folders ---


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A ``sqlite:////abs/path`` checkpoint URL of a new SQLite file in the test's ``tmp_path``."""
    return f"sqlite:///{tmp_path / 'sessions.db'}"


SHARED_BACKEND_FIXTURES = {"redis": "redis_flushed_url", "postgres": "postgres_clean_url"}
"""Backends on a shared server: the fixture that hands out an emptied one."""


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def durable_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """The durable backends in turn: a new SQLite file, a flushed Redis, an emptied Postgres."""
    if request.param == "sqlite":
        return sqlite_url
    return str(request.getfixturevalue(SHARED_BACKEND_FIXTURES[request.param]))


@pytest.fixture(params=["memory", "sqlite", "redis", "postgres"])
def backend_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """Each backend in turn: memory, a new SQLite file, a flushed Redis, an emptied Postgres."""
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return sqlite_url
    return str(request.getfixturevalue(SHARED_BACKEND_FIXTURES[request.param]))


@pytest.fixture
def openai_stub() -> Iterator[OpenAIStubServer]:
    """A fresh OpenAI-compatible stub server (offline brain, rule-checking) for one test."""
    with OpenAIStubServer() as server:
        yield server
