"""Fixtures of the retention, expiry and stats tests: one URL per backend, settings, a session opener."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from sessiongraph import Sessions
from sessiongraph.settings import Settings


@pytest.fixture
def open_sessions(backend_url: str) -> Callable[..., AbstractAsyncContextManager[Sessions]]:
    """``open_sessions(**settings)`` opens the backend under test with the offline model."""

    def opener(**overrides: Any) -> AbstractAsyncContextManager[Sessions]:
        settings = Settings(checkpoint_url=backend_url, model="offline", **overrides)
        return Sessions.open(backend_url, settings=settings)

    return opener
