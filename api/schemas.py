"""Request bodies of the Agent Server protocol (pydantic). Unknown keys are accepted, as the
reference server accepts them, so newer SDKs keep working.

Every body is checked whole before any field: a value that cannot be stored exactly (see
:mod:`sessiongraph.api.storable`) makes it a 422 naming the value's path. Numbers that end up in
queries (limits, offsets, TTLs) and metadata filters are bounded.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from sessiongraph.api.storable import check_storable

StreamMode = Literal[
    "values", "updates", "messages", "messages-tuple", "custom", "events", "debug", "tasks", "checkpoints"
]
MultitaskStrategy = Literal["reject", "interrupt", "rollback", "enqueue"]
ThreadStatusName = Literal["idle", "busy", "interrupted", "error"]


MAX_OFFSET = 1_000_000_000
"""Largest ``offset`` of a listing (beyond it nothing is found anyway)."""
MAX_FILTER_KEYS = 64
"""Most keys of a metadata filter (each becomes a clause of the query)."""
MAX_TTL_MINUTES = 5_256_000.0
"""About ten years: a longer TTL is refused rather than overflowing a timestamp."""

MetadataFilter = Annotated[dict[str, Any] | None, Field(max_length=MAX_FILTER_KEYS)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        return check_storable(data)


class CheckpointRef(_Body):
    """Selects a checkpoint of a thread; missing ``checkpoint_id`` means the latest."""

    thread_id: str | None = None
    checkpoint_ns: str = ""
    checkpoint_id: str | None = None
    checkpoint_map: dict[str, Any] | None = None


class CommandBody(_Body):
    """``langgraph.types.Command`` as JSON: ``resume``, ``update``, ``goto``."""

    resume: Any = None
    update: Any = None
    goto: Any = None


class RunConfig(_Body):
    """A run's ``config``: the RunnableConfig keys a caller may set (others are kept as given)."""

    tags: list[str] | None = None
    recursion_limit: StrictInt | None = Field(
        default=None, ge=1, description="Most graph steps of the run (the server caps it)."
    )
    max_concurrency: StrictInt | None = Field(default=None, ge=1)
    configurable: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    run_name: str | None = None


class RunCreate(_Body):
    """The body of every run-creating endpoint."""

    assistant_id: str = Field(description="An assistant UUID or a graph id such as 'agent'.")
    input: dict[str, Any] | None = Field(
        default=None, description='The turn\'s input, e.g. {"messages": [{"role": "user", "content": "hi"}]}.'
    )
    command: CommandBody | None = None
    config: RunConfig | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    checkpoint: CheckpointRef | None = None
    checkpoint_id: UUID | None = None
    stream_mode: StreamMode | list[StreamMode] = "values"
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    multitask_strategy: MultitaskStrategy = "enqueue"
    if_not_exists: Literal["create", "reject"] = "reject"
    on_disconnect: Literal["cancel", "continue"] = "continue"
    on_completion: Literal["delete", "keep"] = "delete"
    durability: Literal["sync", "async", "exit"] | None = Field(
        default=None,
        description=(
            "When the run's checkpoints are written: 'async' (default) after each step while the "
            "next runs, 'sync' after each step before the next, 'exit' once when the run ends "
            "(fewest writes; no per-step history to time-travel to)."
        ),
    )
    checkpoint_during: bool | None = Field(
        default=None, description="Older spelling: false means durability 'exit', true 'async'."
    )

    @property
    def durability_mode(self) -> str | None:
        """``durability``, else what ``checkpoint_during`` means, else ``None`` (LangGraph's default)."""
        if self.durability is not None:
            return self.durability
        if self.checkpoint_during is not None:
            return "async" if self.checkpoint_during else "exit"
        return None

    @property
    def modes(self) -> list[str]:
        """``stream_mode`` as a de-duplicated list (order kept)."""
        raw = [self.stream_mode] if isinstance(self.stream_mode, str) else self.stream_mode
        return list(dict.fromkeys(raw)) or ["values"]


class ThreadTTL(_Body):
    """A thread's time-to-live: deleted once idle for ``ttl`` minutes.

    Only the ``delete`` strategy is supported (the reference server also knows ``keep_latest``).
    """

    strategy: Literal["delete"] = "delete"
    ttl: float = Field(gt=0, le=MAX_TTL_MINUTES, description="Idle minutes before the thread is deleted.")


def _ttl_object(value: Any) -> Any:
    """The SDKs send ``ttl`` as minutes or as ``{"strategy", "ttl"}``: accept both."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"strategy": "delete", "ttl": value}
    return value


class ThreadCreate(_Body):
    """``POST /threads``."""

    thread_id: UUID | None = None
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] = "raise"
    ttl: ThreadTTL | None = None

    _ttl = field_validator("ttl", mode="before")(_ttl_object)


class ThreadPatch(_Body):
    """``PATCH /threads/{id}``: metadata is shallow-merged; ``ttl`` sets the TTL, ``null`` clears it."""

    metadata: dict[str, Any] | None = None
    ttl: ThreadTTL | None = None

    _ttl = field_validator("ttl", mode="before")(_ttl_object)


class ThreadPrune(_Body):
    """``POST /threads/prune``."""

    thread_ids: list[UUID] = Field(max_length=1000)
    strategy: Literal["delete", "keep_latest"] = "delete"


class MemoryPin(_Body):
    """``POST /threads/{id}/memory/pins``: exactly one of ``message_id`` and ``text``."""

    message_id: str | None = Field(default=None, min_length=1, description="A message of the thread.")
    text: str | None = Field(default=None, min_length=1, max_length=4000, description="A fact to pin.")

    @model_validator(mode="after")
    def _one_of(self) -> MemoryPin:
        if (self.message_id is None) == (self.text is None):
            raise ValueError("give exactly one of message_id (a message of the thread) and text (a fact)")
        return self


class ThreadSearch(_Body):
    """``POST /threads/search``."""

    metadata: MetadataFilter = None
    values: MetadataFilter = None
    ids: list[UUID] | None = Field(default=None, max_length=1000)
    status: ThreadStatusName | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    sort_by: Literal["thread_id", "status", "created_at", "updated_at", "state_updated_at"] = "updated_at"
    sort_order: Literal["asc", "desc"] = "desc"
    select: list[str] | None = None


class ThreadCount(_Body):
    """``POST /threads/count``."""

    metadata: MetadataFilter = None
    values: MetadataFilter = None
    status: ThreadStatusName | None = None


class StateUpdate(_Body):
    """``POST /threads/{id}/state``."""

    values: dict[str, Any] | list[Any] | None = None
    as_node: str | None = None
    checkpoint: CheckpointRef | None = None
    checkpoint_id: str | None = None


class StateAtCheckpoint(_Body):
    """``POST /threads/{id}/state/checkpoint``."""

    checkpoint: CheckpointRef = Field(default_factory=CheckpointRef)
    subgraphs: bool = False


class HistoryQuery(_Body):
    """``POST /threads/{id}/history``: ``before`` is a checkpoint id or a checkpoint dict."""

    limit: int = Field(default=10, ge=1, le=1000)
    before: str | dict[str, Any] | None = Field(
        default=None, description="A checkpoint id, or a checkpoint config {configurable: {checkpoint_id}}."
    )
    metadata: MetadataFilter = None
    checkpoint: CheckpointRef | None = None

    @field_validator("before")
    @classmethod
    def _before_id(cls, value: str | dict[str, Any] | None) -> str | None:
        if isinstance(value, dict):
            conf = value.get("configurable", value)
            if not isinstance(conf, dict):
                raise ValueError("before.configurable must be an object such as {'checkpoint_id': '...'}")
            found = conf.get("checkpoint_id")
            if found is not None and not isinstance(found, str):
                raise ValueError("before.checkpoint_id must be a checkpoint id (a string)")
            return found
        return value
