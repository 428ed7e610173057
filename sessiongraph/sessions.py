"""The session facade: one object to open a backend, pick a thread and talk to the agent.

Used by the CLI, the notebooks and the HTTP API. Every turn goes through the one lifecycle of
:mod:`sessiongraph.lifecycle`: the thread is marked ``busy``; on success it becomes ``idle`` (or
``interrupted`` when the graph has nodes left to run, e.g. waiting for plan approval); on failure
the thread is rolled back to the checkpoint it had before the turn and marked ``error``, so the
next turn works on the conversation as it was.

Example::

    import asyncio
    from sessiongraph import Sessions

    async def main() -> None:
        async with Sessions.open("sqlite:///data/demo.db") as sessions:
            thread = await sessions.create_thread(metadata={"user": "ada"})
            state = await sessions.invoke(thread.thread_id, "what is 6*7?")
            print(state["messages"][-1].content)

    asyncio.run(main())
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore
from langgraph.types import Command, StateSnapshot

from sessiongraph.checkpoints import (
    Backend,
    BackendOptions,
    PruneStrategy,
    ThreadInfo,
    ThreadNotFound,
    ThreadQuery,
    ThreadStats,
    ThreadStatus,
    open_backend,
)
from sessiongraph.checkpoints.assistants import AssistantRegistry
from sessiongraph.checkpoints.crons import CronRegistry
from sessiongraph.checkpoints.expiry import TTLSweeper
from sessiongraph.graphs.agent import build_graph
from sessiongraph.graphs.context import Context, coerce_context
from sessiongraph.graphs.schemas import graph_schemas
from sessiongraph.lifecycle import (
    GraphInput,
    Lifecycle,
    NoPendingInterrupt,
    Turn,
    thread_config,
)
from sessiongraph.nodes.models import create_chat_model
from sessiongraph.nodes.summarize import budget_usage, model_counter
from sessiongraph.nodes.tools import merge_tools
from sessiongraph.settings import Settings, get_settings

__all__ = ["NoPendingInterrupt", "Sessions", "TurnInput", "as_graph_input", "thread_config"]

log = logging.getLogger("sessiongraph.sessions")

TurnInput = str | Mapping[str, Any] | list[Any] | Command | None
ExpiryListener = Callable[[list[str]], Awaitable[None]]


def as_graph_input(value: TurnInput) -> GraphInput:
    """A turn's input: a string becomes one human message; dicts, lists and Commands pass through."""
    if isinstance(value, str):
        return {"messages": [HumanMessage(value)]}
    if value is None or isinstance(value, Command | list):
        return value
    return dict(value)


class Sessions:
    """Checkpointed agent sessions on one backend (see the module docstring).

    ``backend`` and ``graph`` are public for notebooks and tests; the HTTP API goes through the
    methods only.
    """

    def __init__(
        self,
        backend: Backend,
        graph: CompiledStateGraph[Any, Any, Any, Any],
        settings: Settings,
        model: BaseChatModel | None = None,
        tools: Sequence[BaseTool] = (),
    ) -> None:
        self.backend = backend
        self.graph = graph
        self.settings = settings
        self.model = model
        """The fixed chat model the graph was built with (``None``: each run's context names it)."""
        self.tools = tuple(tools)
        """The tools the graph may call, built-in and custom (what the A2A card lists as skills)."""
        self.lifecycle = Lifecycle(backend, graph, keep_latest=settings.checkpoint_keep_latest)
        self._sweeper: TTLSweeper | None = None
        self._expiry_listeners: list[ExpiryListener] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        model: BaseChatModel | None = None,
        tools: Sequence[BaseTool | Callable[..., Any]] | None = None,
    ) -> AsyncIterator[Sessions]:
        """Open the backend at ``url`` (default: the settings' ``checkpoint_url``) and build the graph."""
        settings = settings or get_settings()
        options = BackendOptions(
            sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            memory_max_threads=settings.memory_max_threads,
        )
        async with open_backend(url or settings.checkpoint_url, options) as backend:
            graph = build_graph(
                model=model,
                tools=tools,
                checkpointer=backend.checkpointer,
                store=backend.store,
                settings=settings,
            )
            sessions = cls(backend, graph, settings, model=model, tools=merge_tools(list(tools or [])))
            if settings.thread_ttl_minutes is not None:
                sessions.start_ttl_sweeper()
            try:
                yield sessions
            finally:
                await sessions.stop_ttl_sweeper()

    # --- what the graph and backend are --------------------------------------------------------

    @property
    def graph_id(self) -> str:
        """The compiled graph's name (the Agent Protocol's ``graph_id``)."""
        return self.graph.name

    @property
    def node_names(self) -> frozenset[str]:
        """The graph's node names (what ``Command(goto=...)`` and ``as_node`` may name)."""
        return frozenset(name for name in self.graph.nodes if not name.startswith("__"))

    @property
    def backend_name(self) -> str:
        """``memory``, ``sqlite`` or ``redis``: for people (``/info``), never switched on."""
        return self.backend.name

    @property
    def coordination_url(self) -> str | None:
        """Where replicas sharing these sessions coordinate runs (``None``: in-process only)."""
        return self.backend.coordination_url

    def draw(self, xray: bool | int = False) -> dict[str, Any]:
        """The graph's nodes and edges as JSON (``get_graph(xray).to_json()``)."""
        return self.graph.get_graph(xray=xray).to_json()

    def schemas(self) -> dict[str, Any]:
        """The graph's input, output, state, config and context JSON schemas."""
        return graph_schemas(self.graph)

    async def subgraph_schemas(self, namespace: str | None = None, recurse: bool = False) -> dict[str, Any]:
        """The schemas of the graph's subgraphs by namespace (``{}`` when it has none)."""
        return {
            ns: graph_schemas(sub)  # type: ignore[arg-type]  # local subgraphs are Pregel
            async for ns, sub in self.graph.aget_subgraphs(namespace=namespace, recurse=recurse)
        }

    @property
    def assistants(self) -> AssistantRegistry:
        """The backend's persisted assistants."""
        return self.backend.assistants

    @property
    def crons(self) -> CronRegistry:
        """The backend's persisted cron schedules."""
        return self.backend.crons

    @property
    def store(self) -> BaseStore:
        """The long-term memory shared across threads (the graph's ``runtime.store``)."""
        return self.backend.store

    # --- threads ---------------------------------------------------------------------------

    async def create_thread(
        self,
        thread_id: str | None = None,
        *,
        metadata: Mapping[str, Any] | None = None,
        owner: str | None = None,
        ttl_minutes: float | None = None,
        if_exists: Literal["raise", "do_nothing"] = "raise",
    ) -> ThreadInfo:
        """Register a thread (a new UUID when ``thread_id`` is omitted)."""
        ttl = ttl_minutes if ttl_minutes is not None else self.settings.thread_ttl_minutes
        return await self.backend.registry.create(
            thread_id or str(uuid.uuid4()),
            metadata=metadata,
            owner=owner,
            ttl_minutes=ttl,
            if_exists=if_exists,
        )

    async def get_thread(self, thread_id: str) -> ThreadInfo:
        """The thread's record, or :class:`ThreadNotFound`."""
        return await self.backend.registry.require(thread_id)

    async def find_thread(self, thread_id: str) -> ThreadInfo | None:
        """The thread's record, or ``None``."""
        return await self.backend.registry.get(thread_id)

    async def list_threads(
        self,
        *,
        metadata: Mapping[str, Any] | None = None,
        status: ThreadStatus | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[ThreadInfo]:
        """Threads matching the metadata filter and status, newest first."""
        query = ThreadQuery(metadata=metadata, status=status, limit=limit, offset=offset)
        return await self.backend.registry.search(query)

    async def search_threads(self, query: ThreadQuery) -> list[ThreadInfo]:
        """Threads matching ``query``, sorted and paged."""
        return await self.backend.registry.search(query)

    async def count_threads(self, query: ThreadQuery) -> int:
        """How many threads match ``query``'s filters."""
        return await self.backend.registry.count(query)

    async def update_thread(self, thread_id: str, metadata: Mapping[str, Any]) -> ThreadInfo:
        """Merge ``metadata`` into the thread's metadata."""
        return await self.backend.registry.update(thread_id, metadata=metadata)

    async def copy_thread(self, thread_id: str, *, owner: str | None = None) -> ThreadInfo:
        """A new thread with a copy of ``thread_id``'s metadata and checkpoints."""
        source = await self.get_thread(thread_id)
        copy = await self.create_thread(metadata=source.metadata, owner=owner, ttl_minutes=source.ttl_minutes)
        await self.backend.copy_checkpoints(thread_id, copy.thread_id)
        await self.lifecycle.settle(copy.thread_id)
        return await self.get_thread(copy.thread_id)

    async def delete_thread(self, thread_id: str) -> None:
        """Delete the thread and all its checkpoints."""
        if not await self.backend.delete_thread(thread_id):
            raise ThreadNotFound(thread_id)

    # --- turns -----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def turn(
        self,
        thread_id: str,
        message: TurnInput,
        *,
        config: RunnableConfig | None = None,
        create: bool = True,
        keep_busy: Callable[[], Awaitable[bool]] | None = None,
    ) -> AsyncIterator[Turn]:
        """The one turn lifecycle (:meth:`Lifecycle.turn`): run the graph through the yielded turn.

        With ``create`` a missing thread is created first (with the default TTL); without it a
        missing thread raises :class:`ThreadNotFound`.
        """
        if create:
            await self.create_thread(thread_id, if_exists="do_nothing")
        async with self.lifecycle.turn(
            thread_id, as_graph_input(message), config=config, keep_busy=keep_busy
        ) as turn:
            yield turn

    async def invoke(
        self,
        thread_id: str,
        message: TurnInput,
        *,
        context: Context | Mapping[str, Any] | None = None,
        create: bool = True,
        interrupt_before: Sequence[str] | None = None,
        interrupt_after: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Run one turn and return the thread's state values after it."""
        ctx = self.context(context)
        async with self.turn(thread_id, message, create=create) as turn:
            return await turn.ainvoke(
                context=ctx, interrupt_before=interrupt_before, interrupt_after=interrupt_after
            )

    async def astream_events(
        self,
        thread_id: str,
        message: TurnInput,
        *,
        context: Context | Mapping[str, Any] | None = None,
        create: bool = True,
    ) -> AsyncIterator[dict[str, Any]]:
        """Run one turn, yielding ``astream_events(version="v2")`` events as they happen."""
        ctx = self.context(context)
        async with self.turn(thread_id, message, create=create) as turn:
            async for event in turn.astream_events(context=ctx):
                yield dict(event)

    async def resume(
        self, thread_id: str, value: Any, *, context: Context | Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Answer the pending interrupt (plan approval) with ``value`` and finish the turn."""
        return await self.invoke(thread_id, Command(resume=value), context=context, create=False)

    async def require_interrupt(self, thread_id: str) -> None:
        """Raise :class:`NoPendingInterrupt` unless the thread waits at an interrupt."""
        await self.lifecycle.require_interrupt(thread_id)

    async def mark_busy(self, thread_id: str, metadata: Mapping[str, Any] | None = None) -> None:
        """Mark a thread ``busy`` as soon as a run for it is accepted (before it starts)."""
        await self.lifecycle.mark_busy(thread_id, metadata)

    async def settle(self, thread_id: str) -> ThreadStatus:
        """Set the thread's status from its state (``interrupted`` or ``idle``), outside a turn."""
        return await self.lifecycle.settle(thread_id)

    def context(self, context: Context | Mapping[str, Any] | None = None, *, strict: bool = True) -> Context:
        """A run's :class:`Context`, with the settings' model and temperature as defaults
        (``strict=False``: keys that are not fields are left out rather than rejected)."""
        defaults = {"model": self.settings.resolved_model, "temperature": self.settings.temperature}
        return coerce_context(context, defaults=defaults, strict=strict)

    # --- state -----------------------------------------------------------------------------

    async def get_state(
        self, thread_id: str, checkpoint_id: str | None = None, *, subgraphs: bool = False
    ) -> StateSnapshot:
        """The thread's current state, or its state at ``checkpoint_id``."""
        return await self.state_at(thread_config(thread_id, checkpoint_id), subgraphs=subgraphs)

    async def state_at(self, config: RunnableConfig, *, subgraphs: bool = False) -> StateSnapshot:
        """The state at a full checkpoint config (namespace, checkpoint map)."""
        return await self.graph.aget_state(config, subgraphs=subgraphs)

    async def latest_values(self, thread_id: str) -> dict[str, Any] | None:
        """The newest checkpoint's state values (``None`` without one), read without the tasks."""
        saved = await self.backend.checkpointer.aget_tuple(thread_config(thread_id))
        if saved is None:
            return None
        stored = saved.checkpoint["channel_values"]
        return {k: stored[k] for k in self.graph.stream_channels_list if k in stored}

    async def has_checkpoint(self, thread_id: str, checkpoint_id: str) -> bool:
        """Whether the thread has a checkpoint with that id."""
        saved = await self.backend.checkpointer.aget_tuple(thread_config(thread_id, checkpoint_id))
        return saved is not None

    async def get_history(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        before: str | None = None,
        config: RunnableConfig | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> list[StateSnapshot]:
        """The thread's checkpoints, newest first (``config`` narrows to a namespace or checkpoint).

        ``metadata`` keeps the checkpoints whose metadata has those keys with those values. It is
        matched here rather than by the checkpointer, whose filters splice keys into their
        queries (and refuse keys with spaces or quotes): any key works, on every backend.
        """
        before_config = thread_config(thread_id, before) if before else None
        wanted = dict(metadata or {})
        found: list[StateSnapshot] = []
        history = cast(
            AsyncGenerator[StateSnapshot, None],
            self.graph.aget_state_history(
                config or thread_config(thread_id), limit=None if wanted else limit, before=before_config
            ),
        )
        async with contextlib.aclosing(history):
            async for snapshot in history:
                meta: dict[str, Any] = dict(snapshot.metadata or {})
                if all(key in meta and meta[key] == value for key, value in wanted.items()):
                    found.append(snapshot)
                    if limit is not None and len(found) >= limit:
                        break
        return found

    async def fork(
        self,
        thread_id: str,
        checkpoint_id: str,
        values: Mapping[str, Any] | None = None,
        as_node: str | None = None,
    ) -> RunnableConfig:
        """Rewind: make a new head checkpoint branching from ``checkpoint_id`` (optionally edited)."""
        return await self.update_state(
            thread_config(thread_id, checkpoint_id), values, as_node=as_node if values else "__copy__"
        )

    async def update_state(
        self, config: RunnableConfig, values: Any, *, as_node: str | None = None
    ) -> RunnableConfig:
        """Write ``values`` as if ``as_node`` returned them, then settle the thread's status."""
        new_config = await self.graph.aupdate_state(config, values, as_node=as_node)
        await self.lifecycle.settle(config["configurable"]["thread_id"])
        return new_config

    # --- retention, expiry and stats ---------------------------------------------------------

    async def prune(
        self, thread_ids: Sequence[str], strategy: PruneStrategy = "delete", *, keep_latest: int = 1
    ) -> int:
        """Prune threads: ``delete`` removes them, ``keep_latest`` keeps their newest checkpoints.

        Returns how many of ``thread_ids`` existed (``POST /threads/prune``'s ``pruned_count``).
        The caller filters ``thread_ids`` to the threads it may touch.
        """
        return await self.backend.prune_threads(thread_ids, strategy, keep_latest)

    async def set_thread_ttl(self, thread_id: str, ttl_minutes: float | None) -> ThreadInfo:
        """Set (or with ``None`` clear) the thread's idle TTL; it counts from now."""
        if ttl_minutes is not None and ttl_minutes <= 0:
            raise ValueError("ttl_minutes must be > 0 (None removes the TTL)")
        info = await self.backend.registry.update(thread_id, ttl_minutes=ttl_minutes)
        await self.backend.refresh_expiry(thread_id, ttl_changed=True)
        return info

    def start_ttl_sweeper(self, interval_s: float | None = None) -> None:
        """Delete expired threads in the background (where the backend does not expire them itself).

        ``Sessions.open`` starts it when ``Settings.thread_ttl_minutes`` is set; a server whose
        threads may get a TTL at creation starts it in its lifespan. Idempotent.
        """
        if self._sweeper is None:
            self._sweeper = self.backend.sweeper(
                interval_s or self.settings.ttl_sweep_interval_s, on_sweep=self._expired
            )
        if self._sweeper is not None:
            self._sweeper.start()

    def on_threads_expired(self, listener: ExpiryListener) -> None:
        """Call ``listener`` with the ids of threads the TTL sweep deleted (e.g. to forget their runs)."""
        self._expiry_listeners.append(listener)

    async def _expired(self, thread_ids: list[str]) -> None:
        for listener in self._expiry_listeners:
            try:
                await listener(thread_ids)
            except Exception:
                log.exception("a thread-expiry listener failed")

    async def stop_ttl_sweeper(self) -> None:
        """Stop the background sweeper (a no-op when none runs)."""
        if self._sweeper is not None:
            await self._sweeper.stop()

    async def sweep_expired(self, at: float | None = None) -> list[str]:
        """Delete the threads idle past their TTL at time ``at`` (default: now); returns their ids."""
        deleted = await self.backend.sweep_expired(at)
        await self._expired(deleted)
        return deleted

    async def thread_stats(
        self, thread_id: str, context: Context | Mapping[str, Any] | None = None
    ) -> ThreadStats:
        """Size of a thread: messages and prompt tokens against the context's budget, and storage."""
        await self.get_thread(thread_id)
        ctx = self.context(context)
        state = await self.get_state(thread_id)
        model = self.model or create_chat_model(ctx.model, ctx.temperature, self.settings)
        usage = budget_usage(state.values or {}, ctx, model_counter(model))
        storage = await self.backend.storage_stats(thread_id)
        return ThreadStats(
            thread_id=thread_id,
            messages=usage.messages,
            prompt_tokens=usage.prompt_tokens,
            budget_tokens=usage.budget_tokens,
            budget_share=round(usage.budget_share, 4),
            summary_chars=usage.summary_chars,
            summary_tokens=usage.summary_tokens,
            summarized_messages=usage.summarized_messages,
            checkpoints=storage.checkpoints,
            bytes_stored=storage.bytes_stored,
        )
