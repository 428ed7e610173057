"""Fixtures of the node and model tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.openai_stub import OpenAIStubServer


@pytest.fixture
def openai_stub() -> Iterator[OpenAIStubServer]:
    """A fresh OpenAI-compatible stub server (offline brain, rule-checking) for one test."""
    with OpenAIStubServer() as server:
        yield server
