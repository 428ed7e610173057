"""Fixtures of the graph tests: the agent compiled on an in-memory checkpointer."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph

from sessiongraph.graphs.agent import build_graph


@pytest.fixture
def agent() -> CompiledStateGraph:
    """The default agent (offline model, built-in tools) on an in-memory checkpointer."""
    return build_graph(checkpointer=InMemorySaver())
