"""Turns for the retention, expiry and stats tests (a small budget, so a few turns summarize)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from sessiongraph import Sessions

OpenSessions = Callable[..., AbstractAsyncContextManager[Sessions]]
"""The ``open_sessions`` fixture: ``open_sessions(**settings)`` opens the backend under test."""

SMALL_BUDGET = {"summary_trigger_tokens": 300, "summary_keep_tokens": 150, "summary_max_tokens": 140}
"""A budget small enough that a handful of turns summarize."""


async def run_turns(sessions: Sessions, thread_id: str, texts: list[str]) -> dict[str, Any]:
    """Run one turn per text with the small budget; the state values after the last."""
    values: dict[str, Any] = {}
    for text in texts:
        values = await sessions.invoke(thread_id, text, context=SMALL_BUDGET)
    return values


TURNS = [
    "My name is Ada.",
    "12*7 and 3+4",
    "Tell me a story about a small graph.",
    "1/0",
    "Count the words in: one two three four five",
    "Nothing to compute, just chatting a little longer.",
    "what is 2+2 and 3*3?",
]
