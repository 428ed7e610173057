"""Per-thread storage statistics (:class:`StorageStats`, from a backend) and the
:class:`ThreadStats` record the session facade returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class StorageStats:
    """What a thread occupies in the checkpoint store."""

    checkpoints: int
    bytes_stored: int


@dataclass(frozen=True)
class ThreadStats:
    """One thread's size: its conversation against the prompt budget, and its storage."""

    thread_id: str
    messages: int
    """Messages kept verbatim in the conversation."""
    prompt_tokens: int
    """Estimated tokens of the next prompt's persisted part: running summary + messages."""
    budget_tokens: int
    """The summarization trigger budget (``Context.summary_trigger_tokens``)."""
    budget_share: float
    """``prompt_tokens / budget_tokens``; above 1.0 the next turn summarizes first."""
    summary_chars: int
    summary_tokens: int
    summarized_messages: int
    """Messages folded into the summary so far."""
    checkpoints: int
    """Checkpoints stored for the thread (every namespace)."""
    bytes_stored: int
    """Bytes the thread occupies in the store (see each backend's ``storage_stats``)."""
    archived_items: int = 0
    """Messages summarized away and kept in the thread's memory archive (what recall searches)."""
    pinned_items: int = 0
    """Pinned facts of the thread (kept verbatim in every prompt)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``GET /threads/{id}/stats`` returns it as is)."""
        return asdict(self)
