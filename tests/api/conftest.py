"""Fixtures of the API tests: live servers (on SQLite or on Redis) and langgraph-sdk clients of them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import ExitStack
from typing import Any

import pytest
from apiharness import FakeClock, LiveServer, running, server_settings
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from support.postgres_server import PostgresServer, PostgresUnavailable
from support.started import started


@pytest.fixture
def make_server(sqlite_url: str) -> Iterator[Callable[..., LiveServer]]:
    """``make_server(checkpoint_url=sqlite_url, clock=None, tools=(), **settings)`` starts a live
    server with setting overrides (no auth unless overridden; ``clock`` drives its cron scheduler;
    ``tools`` are added to the graph's); all are stopped at the end of the test."""
    with ExitStack() as servers:

        def make(
            checkpoint_url: str = sqlite_url,
            clock: FakeClock | None = None,
            tools: Sequence[Any] = (),
            **overrides: Any,
        ) -> LiveServer:
            return servers.enter_context(running(server_settings(checkpoint_url, **overrides), clock, tools))

        yield make


@pytest.fixture
def server(make_server: Callable[..., LiveServer], durable_url: str) -> LiveServer:
    """A live server on SQLite or on Redis (flushed first), no auth."""
    return make_server(durable_url)


@pytest.fixture
def sqlite_server(make_server: Callable[..., LiveServer]) -> LiveServer:
    """A live server on SQLite, no auth."""
    return make_server()


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[LangGraphClient]:
    """A langgraph-sdk client of ``server``."""
    async with get_client(url=server.url) as sdk:
        yield sdk


@pytest.fixture
async def sqlite_client(sqlite_server: LiveServer) -> AsyncIterator[LangGraphClient]:
    """A langgraph-sdk client of ``sqlite_server``."""
    async with get_client(url=sqlite_server.url) as sdk:
        yield sdk


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test alone, so that it can be restarted."""
    with started(PostgresServer(), "PostgreSQL", PostgresUnavailable) as server:
        yield server
