"""Fixtures of the CLI tests: an in-process CLI runner on the test's SQLite file (``sqlite_url``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from click.testing import Result
from typer.testing import CliRunner

from sessiongraph.cli import app


@pytest.fixture
def cli(sqlite_url: str) -> Callable[..., Result]:
    """Run ``sessiongraph --checkpoint-url <sqlite_url> --model offline <args>`` in-process."""
    runner = CliRunner()

    def run(args: Sequence[str], input: str | None = None, *, url: str | None = None) -> Result:
        argv = ["--checkpoint-url", url or sqlite_url, "--model", "offline", *args]
        return runner.invoke(app, argv, input=input, catch_exceptions=False)

    return run
