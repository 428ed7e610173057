"""Helpers of the session tests: running session operations in a new Python process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

RUN_TURNS = Path(__file__).with_name("run_turns.py")
SUBPROCESS_TIMEOUT_S = 120

RunTurns = Callable[[str, list[dict[str, Any]]], list[dict[str, Any]]]


def run_turns_in_new_process(url: str, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply ``operations`` (see run_turns.py) on the backend at ``url`` in a new process."""
    done = subprocess.run(
        [sys.executable, str(RUN_TURNS), url, json.dumps(operations)],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
