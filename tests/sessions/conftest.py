"""Fixtures of the session tests: a turn runner in a new process (backend URLs: tests/conftest.py)."""

from __future__ import annotations

import pytest
from session_helpers import RunTurns, run_turns_in_new_process


@pytest.fixture
def run_turns() -> RunTurns:
    """Run session operations in a new Python process (see run_turns.py); returns their outcomes."""
    return run_turns_in_new_process
