"""Fixtures of the API tests: live servers on SQLite (and Redis) and langgraph-sdk clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from apiharness import LiveServer, running, server_settings
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient


@pytest.fixture(params=["sqlite", "redis"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """A live server on SQLite or on Redis (flushed first), no auth."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'api.db'}"
    else:
        url = request.getfixturevalue("redis_flushed_url")
    yield from running(server_settings(url))


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A live server on SQLite, no auth."""
    yield from running(server_settings(f"sqlite:///{tmp_path / 'api.db'}"))


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start SQLite servers with setting overrides; all stopped at the end of the test."""
    started: list[Any] = []

    def make(**overrides: Any) -> LiveServer:
        gen = running(server_settings(f"sqlite:///{tmp_path / f'api{len(started)}.db'}", **overrides))
        live = next(gen)
        started.append(gen)
        return live

    yield make
    for gen in started:
        next(gen, None)


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[LangGraphClient]:
    """A langgraph-sdk client of ``server``."""
    sdk = get_client(url=server.url)
    yield sdk
    await sdk.aclose()


@pytest.fixture
async def sqlite_client(sqlite_server: LiveServer) -> AsyncIterator[LangGraphClient]:
    """A langgraph-sdk client of ``sqlite_server``."""
    sdk = get_client(url=sqlite_server.url)
    yield sdk
    await sdk.aclose()
