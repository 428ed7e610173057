"""Long-term memory in the LangGraph store: the archive of summarized messages, and pinned facts.

Layout (one namespace per thread, under its owner, so cross-thread recall is a prefix search)::

    ("__sessiongraph__", "archive", o<owner hash>, t<thread hash>)  key = message id  (text indexed)
    ("__sessiongraph__", "pins",    o<owner hash>, t<thread hash>)  key = message id  (not indexed)

The ``__sessiongraph__`` root is the server's own: the HTTP store routes hide it, so one owner's
memory is never readable through ``/store`` by another.

Labels are hashes of fixed length, not the ids themselves: store labels may not contain ``.``, and
the Redis store matches namespace prefixes by text tokens, where ``t1`` would also find ``t10``.

- :func:`archive` runs when ``summarize`` folds messages out of the state: each one is written with
  its turn number (the n-th human message of the thread starts turn n) before it leaves.
- :func:`search_archive` is what recall puts in the prompt: the passages most similar to a query
  (the store's semantic index), or, when the store has no index, the most recent ones.
- Pins are kept verbatim in every prompt (:func:`pinned`): rule matches (:func:`rule_pins`) and
  messages a caller pins.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.store.base import BaseStore, PutOp, SearchItem

from sessiongraph.graphs.state import Passage, Pin, Role
from sessiongraph.nodes.messages import text_of
from sessiongraph.nodes.prompting import render_line
from sessiongraph.nodes.prompts import STRUCTURED_RETRY_NAME

SERVER_ROOT = "__sessiongraph__"
"""The store root the API's ``/store`` routes hide (``sessiongraph.checkpoints.documents``)."""
ARCHIVE_ROOT = "archive"
PINS_ROOT = "pins"
OWNER_KEY = "memory_owner"
"""``configurable`` key of the thread's owner; the turn lifecycle sets it from the thread registry."""
PASSAGE_MAX_CHARS = 4000
"""Longest archived text (the embedder reads its first 256 tokens anyway)."""
RECENCY_WINDOW = 8
"""Turns looked at by the recency fallback."""
SCAN_PAGE = 500

TextCounter = Callable[[str], int]


@dataclass(frozen=True)
class MemoryScope:
    """Whose memory a turn reads and writes: the thread, under its owner."""

    thread_id: str
    owner: str = ""

    @classmethod
    def of(cls, config: RunnableConfig | None) -> MemoryScope | None:
        """The scope of a run's config (``None`` without a thread id)."""
        configurable = (config or {}).get("configurable") or {}
        thread_id = configurable.get("thread_id")
        if not thread_id:
            return None
        return cls(thread_id=str(thread_id), owner=str(configurable.get(OWNER_KEY) or ""))

    def namespace(self, root: str) -> tuple[str, ...]:
        """The thread's namespace under ``root`` (``ARCHIVE_ROOT`` or ``PINS_ROOT``)."""
        return (SERVER_ROOT, root, _label("o", self.owner), _label("t", self.thread_id))

    def prefix(self, root: str, cross_thread: bool) -> tuple[str, ...]:
        """What a search covers: the thread, or every thread of the owner."""
        return self.namespace(root)[:3] if cross_thread else self.namespace(root)


def _label(kind: str, value: str) -> str:
    return kind + hashlib.sha256(value.encode()).hexdigest()[:24]


def store_is_indexed(store: BaseStore | None) -> bool:
    """Whether ``store`` ranks searches by meaning (it was opened with an ``index``)."""
    return bool(getattr(store, "index_config", None))


# --- writing ----------------------------------------------------------------------------


def passage_text(message: BaseMessage) -> tuple[Role, str] | None:
    """How a message is archived: its role and text (``None``: nothing worth keeping)."""
    text = " ".join(text_of(message).split())
    if isinstance(message, HumanMessage):
        if message.name == STRUCTURED_RETRY_NAME:
            return None
        return ("user", text[:PASSAGE_MAX_CHARS]) if text else None
    if isinstance(message, AIMessage):
        calls = "; ".join(f"{c['name']}({c['args']})" for c in message.tool_calls)
        joined = " ".join(part for part in (text, f"[tool calls: {calls}]" if calls else "") if part)
        return ("assistant", joined[:PASSAGE_MAX_CHARS]) if joined else None
    if isinstance(message, ToolMessage):
        return ("tool", f"{message.name or 'tool'} -> {text}"[:PASSAGE_MAX_CHARS]) if text else None
    return None


def number_turns(messages: Sequence[BaseMessage], turns_before: int) -> list[int]:
    """The turn of each message: a human message starts the next turn after ``turns_before``."""
    turn = turns_before
    numbers = []
    for message in messages:
        if isinstance(message, HumanMessage) and message.name != STRUCTURED_RETRY_NAME:
            turn += 1
        numbers.append(max(turn, 1))
    return numbers


def to_passages(
    messages: Sequence[BaseMessage], turns_before: int, thread_id: str
) -> list[tuple[BaseMessage, Passage]]:
    """The archivable messages with their passages (messages without an id or text are skipped)."""
    out = []
    for message, turn in zip(messages, number_turns(messages, turns_before), strict=True):
        found = passage_text(message)
        if found is None or not message.id:
            continue
        role, text = found
        out.append(
            (
                message,
                Passage(
                    text=text, role=role, turn=turn, message_id=message.id, thread_id=thread_id, score=None
                ),
            )
        )
    return out


async def archive(store: BaseStore, scope: MemoryScope, passages: Sequence[Passage]) -> None:
    """Write passages to the thread's archive in one batch (embedded by the store's index)."""
    namespace = scope.namespace(ARCHIVE_ROOT)
    ops = [
        PutOp(namespace, p["message_id"], _stored(p), index=None if worth_indexing(p) else False)
        for p in passages
    ]
    if ops:
        await store.abatch(ops)


def worth_indexing(passage: Passage) -> bool:
    """Whether recall should find a passage by meaning: what the user and the assistant said.

    Tool calls and tool results are archived but not embedded (most of the embedding time of a
    tool-using turn): the assistant's reply states what they produced, and that reply is indexed.
    """
    return passage["role"] == "user" or (
        passage["role"] == "assistant" and not passage["text"].startswith("[tool calls:")
    )


def rule_pins(passages: Sequence[Passage], patterns: Sequence[str]) -> list[Pin]:
    """The user passages a pin rule matches (the first matching rule is the reason)."""
    compiled = [re.compile(p, re.IGNORECASE) for p in patterns]
    pins = []
    for passage in passages:
        if passage["role"] != "user":
            continue
        rule = next((c.pattern for c in compiled if c.search(passage["text"])), None)
        if rule is not None:
            pins.append(Pin(**passage, reason=f"rule: {rule}", pinned_at=time.time()))
    return pins


async def pin(store: BaseStore, scope: MemoryScope, pins: Sequence[Pin]) -> None:
    """Keep ``pins`` in the thread's pinned section (a message pinned twice is kept once)."""
    ops = [PutOp(scope.namespace(PINS_ROOT), p["message_id"], _stored(p), index=False) for p in pins]
    if ops:
        await store.abatch(ops)


def _stored(passage: Passage) -> dict[str, Any]:
    return {k: v for k, v in passage.items() if k != "score"}


# --- reading ----------------------------------------------------------------------------


async def search_archive(
    store: BaseStore,
    scope: MemoryScope,
    query: str,
    *,
    limit: int,
    max_tokens: int,
    count: TextCounter,
    min_score: float = 0.0,
    cross_thread: bool = False,
    exclude_ids: frozenset[str] = frozenset(),
    latest_turn: int | None = None,
) -> tuple[Literal["semantic", "recency"], list[Passage]]:
    """The archived passages most relevant to ``query``, best first, within ``limit`` and ``max_tokens``.

    With a semantic index: the most similar passages scoring at least ``min_score``. Without one:
    the passages of the newest :data:`RECENCY_WINDOW` archived turns of the thread, newest first.
    ``exclude_ids`` are messages still in the conversation (a rolled-back fold archives them early).
    """
    if limit <= 0 or max_tokens <= 0:
        return ("semantic" if store_is_indexed(store) else "recency"), []
    if store_is_indexed(store) and query.strip():
        items = await store.asearch(
            scope.prefix(ARCHIVE_ROOT, cross_thread), query=query, limit=limit + len(exclude_ids) + 4
        )
        # Items archived without an index come back unscored: they are not matches.
        ranked = [i for i in items if i.score is not None and i.score >= min_score]
        return "semantic", fit(_passages(ranked, exclude_ids), limit, max_tokens, count)
    window = {"turn": {"$gte": latest_turn - RECENCY_WINDOW}} if latest_turn is not None else None
    items = await store.asearch(scope.namespace(ARCHIVE_ROOT), filter=window, limit=SCAN_PAGE)
    newest = sorted(_passages(items, exclude_ids), key=lambda p: p["turn"], reverse=True)
    return "recency", fit(newest, limit, max_tokens, count)


async def pinned(
    store: BaseStore,
    scope: MemoryScope,
    *,
    max_tokens: int,
    count: TextCounter,
    cross_thread: bool = False,
    exclude_ids: frozenset[str] = frozenset(),
) -> list[Pin]:
    """The pinned facts, oldest first, newest kept when they outgrow ``max_tokens``."""
    items = await store.asearch(scope.prefix(PINS_ROOT, cross_thread), limit=SCAN_PAGE)
    pins = [Pin(**_value(i, None)) for i in items if i.key not in exclude_ids]  # type: ignore[typeddict-item]
    pins.sort(key=lambda p: p.get("pinned_at", 0.0), reverse=True)
    kept = fit(pins, len(pins), max_tokens, count)
    return sorted(kept, key=lambda p: (p.get("pinned_at", 0.0), p["turn"]))


async def count_items(store: BaseStore, scope: MemoryScope, root: str) -> int:
    """How many items the thread has under ``root``."""
    total, offset = 0, 0
    while True:
        page = await store.asearch(scope.namespace(root), limit=SCAN_PAGE, offset=offset)
        total += len(page)
        if len(page) < SCAN_PAGE:
            return total
        offset += SCAN_PAGE


async def forget(store: BaseStore, scope: MemoryScope) -> int:
    """Delete the thread's archive and pins; returns how many items went."""
    deleted = 0
    for root in (ARCHIVE_ROOT, PINS_ROOT):
        while page := await store.asearch(scope.namespace(root), limit=SCAN_PAGE):
            for item in page:
                await store.adelete(item.namespace, item.key)
            deleted += len(page)
    return deleted


async def find_archived(store: BaseStore, scope: MemoryScope, message_id: str) -> Passage | None:
    """The archived passage of a message (``None`` if it was never archived)."""
    item = await store.aget(scope.namespace(ARCHIVE_ROOT), message_id)
    return Passage(**_value(item, None)) if item is not None else None  # type: ignore[typeddict-item]


def _value(item: Any, score: float | None) -> dict[str, Any]:
    value = dict(item.value)
    value["score"] = score
    return value


def _passages(items: Sequence[SearchItem], exclude_ids: frozenset[str]) -> list[Passage]:
    return [
        Passage(**_value(i, None if i.score is None else round(float(i.score), 4)))  # type: ignore[typeddict-item]
        for i in items
        if i.key not in exclude_ids
    ]


P = TypeVar("P", Passage, Pin)


def fit(passages: Sequence[P], limit: int, max_tokens: int, count: TextCounter) -> list[P]:
    """The leading passages that fit ``limit`` and, rendered as prompt lines, ``max_tokens``."""
    kept: list[P] = []
    used = 0
    for passage in passages:
        if len(kept) >= limit:
            break
        cost = count(render_line(passage))
        if used + cost > max_tokens:
            continue
        kept.append(passage)
        used += cost
    return kept
