"""The session facade's side of long-term memory: recall and pins of a thread, outside a turn.

Inside a turn the graph's nodes archive, pin and recall (:mod:`sessiongraph.nodes.memory`); this
module answers the same questions for callers (``GET /threads/{id}/memory``, pinning over the API,
stats) and drops a thread's memory when the thread is deleted.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langgraph.store.base import BaseStore

from sessiongraph.checkpoints import Backend, ThreadInfo
from sessiongraph.graphs.context import Context
from sessiongraph.graphs.state import Pin, RecalledMemory
from sessiongraph.nodes import memory
from sessiongraph.nodes.models import count_tokens, create_chat_model
from sessiongraph.nodes.recall import latest_turn, remember, text_counter
from sessiongraph.settings import Settings

log = logging.getLogger("sessiongraph.memory")


class PinError(LookupError):
    """The message to pin is neither in the thread's conversation nor in its archive."""


def log_memory_mode(backend: Backend, settings: Settings, *, indexed: bool) -> None:
    """Say at startup how recall will choose what to bring back (by meaning, or by recency)."""
    if not indexed:
        log.info(
            "memory: embeddings are off (SESSIONGRAPH_EMBEDDINGS=none); recall takes the newest passages"
        )
    elif backend.index_unavailable:
        log.warning(
            "memory: the %s store cannot index by meaning: %s; recall falls back to the newest passages",
            backend.name,
            backend.index_unavailable,
        )
    else:
        log.info(
            "memory: semantic recall on the %s store (embeddings: %s)", backend.name, settings.embeddings
        )


class ThreadMemory:
    """Recall, pins, counts and deletion of the threads' memory in one store."""

    def __init__(self, store: BaseStore, settings: Settings, model: BaseChatModel | None = None) -> None:
        self.store = store
        self.settings = settings
        self.model = model

    @property
    def semantic(self) -> bool:
        """Whether recall ranks passages by meaning (else: newest first)."""
        return memory.store_is_indexed(self.store)

    @staticmethod
    def scope(info: ThreadInfo) -> memory.MemoryScope:
        """The memory scope of a thread (its owner from the registry)."""
        return memory.MemoryScope(thread_id=info.thread_id, owner=info.owner or "")

    async def recall(
        self,
        info: ThreadInfo,
        values: Mapping[str, Any],
        query: str,
        context: Context,
        *,
        limit: int | None = None,
    ) -> RecalledMemory:
        """What the ``recall`` node would put in the prompt for a new message ``query``."""
        if limit is not None:
            context = replace(context, recall_passages=limit)
        model = self.model or create_chat_model(context.model, context.temperature, self.settings)
        messages: list[BaseMessage] = list(values.get("messages") or [])
        return await remember(
            self.store,
            self.scope(info),
            query,
            context,
            text_counter(lambda msgs: count_tokens(model, msgs)),
            in_conversation=frozenset(m.id for m in messages if m.id),
            turn=latest_turn(values),  # type: ignore[arg-type]
        )

    async def pin(
        self,
        info: ThreadInfo,
        values: Mapping[str, Any],
        *,
        message_id: str | None = None,
        text: str | None = None,
    ) -> Pin:
        """Pin a message by id (from the conversation or the archive) or a fact given as text."""
        scope = self.scope(info)
        passage: memory.Passage | None
        if text is not None:
            turn = max(1, latest_turn(values))  # type: ignore[arg-type]
            key = "pin-" + hashlib.sha256(text.encode()).hexdigest()[:16]
            passage = memory.Passage(
                text=" ".join(text.split()),
                role="user",
                turn=turn,
                message_id=key,
                thread_id=info.thread_id,
                score=None,
            )
        elif message_id is not None:
            passage = self._in_conversation(values, message_id, info.thread_id)
            if passage is None:
                passage = await memory.find_archived(self.store, scope, message_id)
            if passage is None:
                raise PinError(
                    f"thread {info.thread_id!r} has no message {message_id!r} with text, in its "
                    "conversation or its archive; pick an id from GET /threads/{thread_id}/state"
                )
        else:
            raise ValueError("pin a message_id or a text")
        pinned = memory.Pin(**{**passage, "score": None}, reason="api", pinned_at=time.time())  # type: ignore[typeddict-item]
        await memory.pin(self.store, scope, [pinned])
        return pinned

    @staticmethod
    def _in_conversation(values: Mapping[str, Any], message_id: str, thread_id: str) -> memory.Passage | None:
        messages: list[BaseMessage] = list(values.get("messages") or [])
        before = int(values.get("archived_turns") or 0)
        for message, passage in memory.to_passages(messages, before, thread_id):
            if message.id == message_id:
                return passage
        return None

    async def counts(self, info: ThreadInfo) -> tuple[int, int]:
        """(archived items, pinned items) of a thread."""
        scope = self.scope(info)
        return (
            await memory.count_items(self.store, scope, memory.ARCHIVE_ROOT),
            await memory.count_items(self.store, scope, memory.PINS_ROOT),
        )

    async def forget(self, thread_id: str, info: ThreadInfo) -> None:
        """Drop a deleted thread's archive and pins."""
        try:
            await memory.forget(self.store, self.scope(info))
        except Exception:
            log.exception("dropping the memory of deleted thread %s failed", thread_id)
