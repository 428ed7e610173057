"""The call signatures of the agent's nodes, as the node factories (``make_*``) return them.

LangGraph reads a node's parameter names to decide what to pass: ``runtime`` gets the run's
:class:`~langgraph.runtime.Runtime`, ``config`` its ``RunnableConfig``. Protocols (rather than
``Callable[...]``) keep those names in the type, so a factory's result type-checks as the
``_NodeWithRuntime`` that ``StateGraph.add_node`` expects.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Protocol

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from sessiongraph.graphs.context import Context
from sessiongraph.graphs.state import AgentState


class AgentNode(Protocol):
    """An async node of the agent graph: ``(state, runtime) -> state update``."""

    def __call__(self, state: AgentState, runtime: Runtime[Context]) -> Awaitable[dict[str, Any]]:
        """Read the state and the run's context; return the update to apply to the state."""
        ...


class AgentNodeWithConfig(Protocol):
    """An async node that also takes the run's config, to hand it on to a runnable it calls:
    ``(state, runtime, config) -> state update``."""

    def __call__(
        self, state: AgentState, runtime: Runtime[Context], config: RunnableConfig
    ) -> Awaitable[dict[str, Any]]:
        """Read the state, the run's context and config; return the update to apply to the state."""
        ...
