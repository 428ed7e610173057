"""Helpers of the graph tests: per-node run counts of one turn."""

from __future__ import annotations

from collections import Counter
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from support.threads import new_thread

from sessiongraph.graphs.context import Context


async def node_runs(
    graph: CompiledStateGraph, text: str, context: Context, config: dict[str, Any] | None = None
) -> tuple[Counter[str], dict[str, Any]]:
    """Run one turn with ``stream_mode="updates"``: (how often each node ran, final state values)."""
    config = config or new_thread()
    runs: Counter[str] = Counter()
    async for update in graph.astream(
        {"messages": [("user", text)]}, config, context=context, stream_mode="updates"
    ):
        runs.update(name for name in update if not name.startswith("__"))
    return runs, (await graph.aget_state(config)).values
