"""recall: before ``understand``, bring back what summarization folded away; and the ``recall`` tool.

The node puts two things in this turn's ``memory`` (which every node's system prompt shows, see
:func:`sessiongraph.nodes.prompting.memory_sections`):

- the pinned facts (rule matches and messages a caller pinned), verbatim, within
  ``Context.pinned_max_tokens``;
- the archived passages most similar to the new message (``Context.recall_passages``, at least
  ``Context.recall_min_score`` similar, within ``Context.recall_max_tokens``), or the newest ones when
  the store has no semantic index.

Nothing is added to ``messages``, so the conversation and its tool-call pairing are untouched.
Without a store (a graph compiled without one) the node does nothing. The ``recall`` tool lets the
model search the archive itself, with its own query.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.tools import tool
from langgraph.config import get_config
from langgraph.prebuilt import ToolRuntime
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from sessiongraph.graphs.context import Context, context_from_runtime
from sessiongraph.graphs.state import AgentState, Passage, RecalledMemory
from sessiongraph.nodes.deps import NodeDeps
from sessiongraph.nodes.memory import MemoryScope, TextCounter, pinned, search_archive
from sessiongraph.nodes.messages import latest_request
from sessiongraph.nodes.models import count_tokens
from sessiongraph.nodes.node_types import AgentNode
from sessiongraph.nodes.prompting import conversation, render_line
from sessiongraph.nodes.prompts import STRUCTURED_RETRY_NAME


def latest_turn(state: AgentState) -> int:
    """The number of the newest turn: archived turns plus the human messages still in the state."""
    humans = sum(
        1
        for m in state.get("messages", [])
        if isinstance(m, HumanMessage) and m.name != STRUCTURED_RETRY_NAME
    )
    return int(state.get("archived_turns") or 0) + humans


async def remember(
    store: BaseStore,
    scope: MemoryScope,
    query: str,
    context: Context,
    count: TextCounter,
    *,
    in_conversation: frozenset[str] = frozenset(),
    turn: int | None = None,
    search_archive_too: bool = True,
) -> RecalledMemory:
    """Pinned facts and the passages recalled for ``query``, as the prompt would get them."""
    cross_thread = context.recall_scope == "owner"
    pins = await pinned(
        store,
        scope,
        max_tokens=context.pinned_max_tokens,
        count=count,
        cross_thread=cross_thread,
        exclude_ids=in_conversation,
    )
    mode: Literal["semantic", "recency"] = "semantic"
    recalled: list[Passage] = []
    if search_archive_too:
        mode, recalled = await search_archive(
            store,
            scope,
            query,
            limit=context.recall_passages,
            max_tokens=context.recall_max_tokens,
            count=count,
            min_score=context.recall_min_score,
            cross_thread=cross_thread,
            # A pinned message is in the prompt already.
            exclude_ids=in_conversation | {p["message_id"] for p in pins},
            latest_turn=turn,
        )
    return RecalledMemory(mode=mode, pinned=pins, recalled=recalled)


def text_counter(count_messages: Any) -> TextCounter:
    """A prompt-line token counter from a message token counter."""
    return lambda text: int(count_messages([SystemMessage(text)]))


def make_recall(deps: NodeDeps) -> AgentNode:
    """Build the ``recall`` node."""

    async def recall(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
        context = context_from_runtime(runtime)
        scope = MemoryScope.of(get_config())
        if runtime.store is None or scope is None:
            return {"memory": None}
        model = deps.chat_model(context)
        messages: list[BaseMessage] = conversation(state)
        archived = bool(state.get("archived_turns")) or context.recall_scope == "owner"
        memory = await remember(
            runtime.store,
            scope,
            latest_request(messages),
            context,
            text_counter(lambda msgs: count_tokens(model, msgs)),
            in_conversation=frozenset(m.id for m in messages if m.id),
            turn=latest_turn(state),
            search_archive_too=archived,
        )
        return {"memory": memory if memory["pinned"] or memory["recalled"] else None}

    return recall


@tool
async def recall(query: str, runtime: ToolRuntime[Context]) -> str:
    """Search the memory of this conversation (earlier turns that were summarized away, and pinned
    facts) for what was said about `query`; returns the most related passages with their turn."""
    scope = MemoryScope.of(runtime.config)
    if runtime.store is None or scope is None:
        return "No memory store is configured, so there is nothing to recall."
    context = context_from_runtime(runtime)  # type: ignore[arg-type]
    memory = await remember(
        runtime.store,
        scope,
        query,
        context,
        text_counter(count_tokens_approximately),
    )
    lines = [render_line(p) for p in [*memory["pinned"], *memory["recalled"]]]
    if not lines:
        return f"Nothing in memory matches {query!r}."
    return "\n".join(lines)
