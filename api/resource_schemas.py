"""Request bodies of the assistants, store and crons endpoints (pydantic; unknown keys accepted,
as the reference server accepts them)."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from sessiongraph.api.schemas import MAX_OFFSET, MAX_TTL_MINUTES, MetadataFilter, RunCreate, _Body

# --- assistants -----------------------------------------------------------------------------


class AssistantCreate(_Body):
    """``POST /assistants``."""

    graph_id: str
    assistant_id: UUID | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] = "raise"
    name: str | None = None
    description: str | None = None


class AssistantPatch(_Body):
    """``PATCH /assistants/{id}``: each given field replaces the current one (metadata merges)."""

    graph_id: str | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    name: str | None = None
    description: str | None = None


class AssistantVersions(_Body):
    """``POST /assistants/{id}/versions``."""

    metadata: dict[str, Any] | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class AssistantLatest(_Body):
    """``POST /assistants/{id}/latest``."""

    version: int = Field(ge=1)


class AssistantSearch(_Body):
    """``POST /assistants/search`` and ``/count``."""

    metadata: MetadataFilter = None
    graph_id: str | None = None
    name: str | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    sort_by: Literal["assistant_id", "graph_id", "name", "created_at", "updated_at"] | None = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[str] | None = None


# --- store ----------------------------------------------------------------------------------


class StorePut(_Body):
    """``PUT /store/items``."""

    namespace: list[str]
    key: str = Field(min_length=1)
    value: dict[str, Any]
    index: Literal[False] | list[str] | None = None
    ttl: float | None = Field(
        default=None, gt=0, le=MAX_TTL_MINUTES, description="Minutes until the item expires."
    )


class StoreDelete(_Body):
    """``DELETE /store/items``."""

    namespace: list[str] = Field(default_factory=list)
    key: str = Field(min_length=1)


class StoreSearch(_Body):
    """``POST /store/items/search``."""

    namespace_prefix: list[str] = Field(default_factory=list)
    filter: MetadataFilter = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    query: str | None = None
    refresh_ttl: bool | None = None


class StoreNamespaces(_Body):
    """``POST /store/namespaces``."""

    prefix: list[str] | None = None
    suffix: list[str] | None = None
    max_depth: int | None = Field(default=None, ge=1)
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


# --- crons ----------------------------------------------------------------------------------


class CronCreate(RunCreate):
    """``POST /runs/crons`` and ``/threads/{id}/runs/crons``: a run body plus its schedule."""

    schedule: str
    timezone: str | None = None
    end_time: str | None = None
    enabled: bool = True
    on_run_completed: Literal["delete", "keep"] | None = None


class CronPatch(_Body):
    """``PATCH /runs/crons/{id}``: schedule fields, or run fields that replace the payload's."""

    schedule: str | None = None
    timezone: str | None = None
    end_time: str | None = None
    enabled: bool | None = None
    on_run_completed: Literal["delete", "keep"] | None = None
    input: Any = None
    metadata: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    interrupt_before: Any = None
    interrupt_after: Any = None
    stream_mode: Any = None
    stream_subgraphs: bool | None = None
    stream_resumable: bool | None = None


class CronSearch(_Body):
    """``POST /runs/crons/search`` and ``/count``."""

    assistant_id: str | None = None
    thread_id: UUID | None = None
    enabled: bool | None = None
    metadata: dict[str, Any] | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    sort_by: str | None = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[str] | None = None


# --- runs -----------------------------------------------------------------------------------


class RunsCancel(_Body):
    """``POST /runs/cancel``: by ``run_ids`` of ``thread_id``, or every run with ``status``."""

    thread_id: UUID | None = None
    run_ids: list[UUID] | None = None
    status: Literal["pending", "running", "all"] | None = None
