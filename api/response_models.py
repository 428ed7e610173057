"""What the API answers, as pydantic models for the OpenAPI document (/openapi.json, /docs).

Handlers encode their answers with :class:`~sessiongraph.api.responses.JSON` directly; these
models only describe them. :data:`ERRORS` is the ``responses`` entry every route shares.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Doc(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorDetail(_Doc):
    """Every error: what went wrong and what to do about it."""

    detail: str = Field(description="What went wrong and how to fix the request.")


class Thread(_Doc):
    """A thread: its registry record with its latest values, pending interrupts and last error."""

    thread_id: str
    created_at: str
    updated_at: str
    state_updated_at: str
    metadata: dict[str, Any]
    status: str = Field(description="idle, busy, interrupted or error")
    config: dict[str, Any]
    values: Any = None
    interrupts: dict[str, list[Any]]
    error: Any = None


class Checkpoint(_Doc):
    """A checkpoint reference."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str | None = None
    checkpoint_map: dict[str, Any] | None = None


class ThreadState(_Doc):
    """The state of a thread at a checkpoint."""

    values: Any
    next: list[str]
    tasks: list[dict[str, Any]]
    metadata: dict[str, Any] | None = None
    created_at: str | None = None
    checkpoint: Checkpoint | None = None
    parent_checkpoint: Checkpoint | None = None
    interrupts: list[dict[str, Any]]
    checkpoint_id: str | None = None
    parent_checkpoint_id: str | None = None


class StateUpdateResult(_Doc):
    """The checkpoint a state update wrote."""

    checkpoint: Checkpoint
    configurable: Checkpoint
    checkpoint_id: str


class Run(_Doc):
    """A run of an assistant on a thread."""

    run_id: str
    thread_id: str
    assistant_id: str
    created_at: str
    updated_at: str
    status: str = Field(description="pending, running, success, error, timeout or interrupted")
    metadata: dict[str, Any]
    kwargs: dict[str, Any]
    multitask_strategy: str


class Assistant(_Doc):
    """An assistant: a graph with its configuration."""

    assistant_id: str
    graph_id: str
    config: dict[str, Any]
    context: dict[str, Any]
    metadata: dict[str, Any]
    name: str
    created_at: str
    updated_at: str
    version: int
    description: str | None = None


class PruneResult(_Doc):
    """How many threads ``POST /threads/prune`` pruned."""

    pruned_count: int


SSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-sent events: `metadata` first, then the requested stream modes, then "
        "`end` (or `error`); `: heartbeat` comments while silent.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}
"""The ``responses`` entry of the streaming routes."""


class SelectedThread(_Doc):
    """A Thread as ``POST /threads/search`` answers it: only the fields named in ``select`` when given."""

    thread_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    state_updated_at: str | None = None
    metadata: dict[str, Any] | None = None
    status: str | None = None
    config: dict[str, Any] | None = None
    values: Any = None
    interrupts: dict[str, list[Any]] | None = None
    error: Any = None


class SelectedAssistant(_Doc):
    """An Assistant as ``POST /assistants/search`` answers it: only the ``select``-ed fields when given."""

    assistant_id: str | None = None
    graph_id: str | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    name: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    version: int | None = None
    description: str | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorDetail, "description": description}
    for status, description in (
        (400, "The request cannot be carried out as asked"),
        (401, "No API key, or an unknown one"),
        (404, "No such resource, or not one the caller may see"),
        (409, "The resource's state forbids the request"),
        (413, "The body is too large"),
        (422, "The body or a parameter fails validation"),
        (429, "Rate limit spent; see Retry-After"),
        (503, "Too busy; see Retry-After"),
    )
}
"""The error answers every route may give, all ``{"detail": ...}``."""
