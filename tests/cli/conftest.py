"""Fixtures of the CLI tests: a SQLite session file per test and an in-process CLI runner."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from sessiongraph.cli import app


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A ``sqlite:////abs/path`` URL of a fresh session file."""
    return f"sqlite:///{tmp_path / 'sessions.db'}"


@pytest.fixture
def cli(db_url: str) -> Callable[..., Result]:
    """Run ``sessiongraph --checkpoint-url <db_url> --model offline <args>`` in-process."""
    runner = CliRunner()

    def run(args: Sequence[str], input: str | None = None, *, url: str | None = None) -> Result:
        argv = ["--checkpoint-url", url or db_url, "--model", "offline", *args]
        return runner.invoke(app, argv, input=input, catch_exceptions=False)

    return run
