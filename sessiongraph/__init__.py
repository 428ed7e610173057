"""sessiongraph: a LangGraph agent with checkpointed sessions, an Agent-Protocol HTTP API and a CLI.

The public surface (imported lazily, so ``import sessiongraph`` stays cheap)::

    from sessiongraph import Sessions, build_graph, Context, Settings
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sessiongraph.graphs.agent import build_graph
    from sessiongraph.graphs.context import Context
    from sessiongraph.sessions import Sessions
    from sessiongraph.settings import Settings

__all__ = ["Context", "Sessions", "Settings", "build_graph"]

_EXPORTS = {
    "Sessions": "sessiongraph.sessions",
    "build_graph": "sessiongraph.graphs.agent",
    "Context": "sessiongraph.graphs.context",
    "Settings": "sessiongraph.settings",
}


def __getattr__(name: str) -> Any:
    """Import public names on first use."""
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sessiongraph' has no attribute {name!r}")
