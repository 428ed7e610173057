"""Fixtures of the session tests: durable backend URLs and a turn runner in a new process."""

from __future__ import annotations

from pathlib import Path

import pytest
from session_helpers import RunTurns, run_turns_in_new_process


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A checkpoint URL of a new SQLite file."""
    return f"sqlite:///{tmp_path / 'sessions.db'}"


@pytest.fixture(params=["sqlite", "redis"])
def durable_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """The durable backends: a SQLite file and a flushed Redis."""
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("redis_flushed_url")


@pytest.fixture
def run_turns() -> RunTurns:
    """Run session operations in a new Python process (see run_turns.py); returns their outcomes."""
    return run_turns_in_new_process
