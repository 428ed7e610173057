"""The session facade: one object to open a backend, pick a thread and talk to the agent.

Used by the CLI, the notebooks and the HTTP API. Every turn goes through the same bookkeeping:
the thread is marked ``busy``; on success it becomes ``idle`` (or ``interrupted`` when the graph
paused for plan approval); on failure the thread is rolled back to the checkpoint it had before
the turn and marked ``error``, so the next turn works on the conversation as it was.

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
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot

from sessiongraph.checkpoints.backends import Backend, open_backend
from sessiongraph.checkpoints.registry import ThreadInfo, ThreadNotFound, ThreadQuery, ThreadStatus
from sessiongraph.checkpoints.retention import PruneStrategy, prune_checkpoints, prune_threads
from sessiongraph.checkpoints.stats import ThreadStats, storage_stats
from sessiongraph.checkpoints.ttl import TTLSweeper, refresh_redis_expiry
from sessiongraph.graphs.agent import build_graph
from sessiongraph.graphs.context import Context, coerce_context
from sessiongraph.nodes.models import create_chat_model
from sessiongraph.nodes.summarize import budget_usage, model_counter
from sessiongraph.settings import Settings, get_settings

log = logging.getLogger("sessiongraph.sessions")

TurnInput = str | Mapping[str, Any] | Command | None


class NoPendingInterrupt(RuntimeError):
    """``resume`` was called on a thread that is not waiting at an interrupt."""

    def __init__(self, thread_id: str) -> None:
        super().__init__(
            f"thread {thread_id!r} has no pending interrupt to resume; send a new message instead"
        )
        self.thread_id = thread_id


def thread_config(thread_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    """The LangGraph config selecting a thread (and optionally one of its checkpoints)."""
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def as_graph_input(value: TurnInput) -> dict[str, Any] | Command | None:
    """A turn's input: a string becomes one human message; dicts and Commands pass through."""
    if isinstance(value, str):
        return {"messages": [HumanMessage(value)]}
    if value is None or isinstance(value, Command):
        return value
    return dict(value)


class Sessions:
    """Checkpointed agent sessions on one backend (see the module docstring)."""

    def __init__(
        self,
        backend: Backend,
        graph: CompiledStateGraph,
        settings: Settings,
        model: BaseChatModel | None = None,
    ) -> None:
        self.backend = backend
        self.graph = graph
        self.settings = settings
        self.model = model
        """The fixed chat model the graph was built with (``None``: each run's context names it)."""
        self._sweeper: TTLSweeper | None = None
        self._expiry_listeners: list[Callable[[list[str]], Awaitable[None]]] = []

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
        async with open_backend(
            url or settings.checkpoint_url,
            busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            memory_max_threads=settings.memory_max_threads,
        ) as backend:
            graph = build_graph(
                model=model,
                tools=tools,
                checkpointer=backend.checkpointer,
                store=backend.store,
                settings=settings,
            )
            sessions = cls(backend, graph, settings, model=model)
            if settings.thread_ttl_minutes is not None:
                sessions.start_ttl_sweeper()
            try:
                yield sessions
            finally:
                await sessions.stop_ttl_sweeper()

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

    async def update_thread(self, thread_id: str, metadata: Mapping[str, Any]) -> ThreadInfo:
        """Merge ``metadata`` into the thread's metadata."""
        return await self.backend.registry.update(thread_id, metadata=metadata)

    async def delete_thread(self, thread_id: str) -> None:
        """Delete the thread and all its checkpoints."""
        if not await self.backend.delete_thread(thread_id):
            raise ThreadNotFound(thread_id)

    # --- turns -----------------------------------------------------------------------------

    async def invoke(
        self,
        thread_id: str,
        message: TurnInput,
        *,
        context: Context | Mapping[str, Any] | None = None,
        create: bool = True,
    ) -> dict[str, Any]:
        """Run one turn and return the thread's state values after it."""
        ctx = _context(context)
        async with self._turn(thread_id, message, create=create) as turn:
            values = await self.graph.ainvoke(turn.graph_input, turn.config, context=ctx)
            turn.interrupted = bool(values.get("__interrupt__"))
            return values

    async def astream_events(
        self,
        thread_id: str,
        message: TurnInput,
        *,
        context: Context | Mapping[str, Any] | None = None,
        create: bool = True,
    ) -> AsyncIterator[dict[str, Any]]:
        """Run one turn, yielding ``astream_events(version="v2")`` events as they happen."""
        ctx = _context(context)
        async with self._turn(thread_id, message, create=create) as turn:
            async for event in self.graph.astream_events(
                turn.graph_input, turn.config, context=ctx, version="v2"
            ):
                yield dict(event)

    async def resume(
        self, thread_id: str, value: Any, *, context: Context | Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Answer the pending interrupt (plan approval) with ``value`` and finish the turn."""
        await self.require_interrupt(thread_id)
        return await self.invoke(thread_id, Command(resume=value), context=context, create=False)

    async def require_interrupt(self, thread_id: str) -> None:
        """Raise :class:`NoPendingInterrupt` unless the thread waits at an interrupt."""
        if not (await self.get_state(thread_id)).interrupts:
            raise NoPendingInterrupt(thread_id)

    @contextlib.asynccontextmanager
    async def _turn(self, thread_id: str, message: TurnInput, *, create: bool) -> AsyncIterator[_Turn]:
        registry = self.backend.registry
        if create:
            await self.create_thread(thread_id, if_exists="do_nothing")
        else:
            await registry.require(thread_id)
        before = await self.head(thread_id)
        turn = _Turn(as_graph_input(message), thread_config(thread_id))
        await registry.set_status(thread_id, "busy")
        try:
            yield turn
        except BaseException:
            await self.rollback(thread_id, before)
            await registry.set_status(thread_id, "error")
            await self.after_turn(thread_id)
            raise
        if turn.interrupted is None:
            status = await self.status_after_run(thread_id)
        else:
            status = "interrupted" if turn.interrupted else "idle"
        await registry.set_status(thread_id, status)
        await self.after_turn(thread_id)

    async def head(self, thread_id: str) -> RunnableConfig | None:
        """The config of the thread's newest checkpoint (``None`` without one): what to roll back to.

        Read before a turn rather than searched for after a failure: not every saver records
        run-tagging metadata (the Redis saver ignores config metadata).
        """
        saved = await self.graph.checkpointer.aget_tuple(thread_config(thread_id))  # type: ignore[union-attr]
        return saved.config if saved else None

    async def rollback(self, thread_id: str, before: RunnableConfig | None) -> None:
        """Make the checkpoint ``before`` the thread's head again (no checkpoints if ``None``)."""
        try:
            if before is None:
                await self.graph.checkpointer.adelete_thread(thread_id)  # type: ignore[union-attr]
            else:
                paused = bool((await self.graph.aget_state(before)).interrupts)
                await self.graph.aupdate_state(before, None, as_node="__copy__")
                if paused:
                    # The copy keeps the values but not the pending interrupt: run the paused node
                    # (review_plan, no model call) again so that the thread waits for a resume again.
                    await self.graph.ainvoke(None, thread_config(thread_id))
        except Exception:
            log.exception("rollback of thread %s failed", thread_id)

    async def status_after_run(self, thread_id: str) -> ThreadStatus:
        """``interrupted`` when the thread waits at an interrupt, else ``idle``."""
        state = await self.get_state(thread_id)
        return "interrupted" if state.interrupts else "idle"

    # --- state -----------------------------------------------------------------------------

    async def get_state(self, thread_id: str, checkpoint_id: str | None = None) -> StateSnapshot:
        """The thread's current state, or its state at ``checkpoint_id``."""
        return await self.graph.aget_state(thread_config(thread_id, checkpoint_id))

    async def get_history(
        self, thread_id: str, *, limit: int | None = None, before: str | None = None
    ) -> list[StateSnapshot]:
        """The thread's checkpoints, newest first."""
        before_config = thread_config(thread_id, before) if before else None
        return [
            s
            async for s in self.graph.aget_state_history(
                thread_config(thread_id), limit=limit, before=before_config
            )
        ]

    async def fork(
        self,
        thread_id: str,
        checkpoint_id: str,
        values: Mapping[str, Any] | None = None,
        as_node: str | None = None,
    ) -> RunnableConfig:
        """Rewind: make a new head checkpoint branching from ``checkpoint_id`` (optionally edited)."""
        config = thread_config(thread_id, checkpoint_id)
        if values is None:
            return await self.graph.aupdate_state(config, None, as_node="__copy__")
        return await self.graph.aupdate_state(config, dict(values), as_node=as_node)

    # --- retention, expiry and stats (see checkpoints/retention.py, ttl.py, stats.py) ---------

    async def prune(
        self, thread_ids: Sequence[str], strategy: PruneStrategy = "delete", *, keep_latest: int = 1
    ) -> int:
        """Prune threads: ``delete`` removes them, ``keep_latest`` keeps their newest checkpoints.

        Returns how many of ``thread_ids`` existed (``POST /threads/prune``'s ``pruned_count``).
        The caller filters ``thread_ids`` to the threads it may touch.
        """
        return await prune_threads(self.backend, thread_ids, strategy, keep_latest)

    async def set_thread_ttl(self, thread_id: str, ttl_minutes: float | None) -> ThreadInfo:
        """Set (or with ``None`` clear) the thread's idle TTL; it counts from now."""
        if ttl_minutes is not None and ttl_minutes <= 0:
            raise ValueError("ttl_minutes must be > 0 (None removes the TTL)")
        info = await self.backend.registry.update(thread_id, ttl_minutes=ttl_minutes)
        await refresh_redis_expiry(self.backend, thread_id, ttl_minutes)
        return info

    def start_ttl_sweeper(self, interval_s: float | None = None) -> None:
        """Delete expired threads in the background (memory and SQLite; Redis expires natively).

        ``Sessions.open`` starts it when ``Settings.thread_ttl_minutes`` is set; a server whose
        threads may get a TTL at creation starts it in its lifespan. Idempotent.
        """
        if self.backend.kind == "redis":
            return
        if self._sweeper is None:
            self._sweeper = TTLSweeper(
                self.backend, interval_s or self.settings.ttl_sweep_interval_s, on_sweep=self._expired
            )
        self._sweeper.start()

    def on_threads_expired(self, listener: Callable[[list[str]], Awaitable[None]]) -> None:
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
        return await TTLSweeper(
            self.backend, self.settings.ttl_sweep_interval_s, on_sweep=self._expired
        ).sweep(at)

    async def thread_stats(
        self, thread_id: str, context: Context | Mapping[str, Any] | None = None
    ) -> ThreadStats:
        """Size of a thread: messages and prompt tokens against the context's budget, and storage."""
        await self.get_thread(thread_id)
        ctx = _context(context)
        state = await self.get_state(thread_id)
        model = self.model or create_chat_model(ctx.model, ctx.temperature, self.settings)
        usage = budget_usage(state.values or {}, ctx, model_counter(model))
        storage = await storage_stats(self.backend, thread_id)
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

    async def after_turn(self, thread_id: str) -> None:
        """Housekeeping after every turn or API run: prune old checkpoints, renew Redis expiry.

        Failures are logged, never raised: the turn itself has succeeded (or failed) already.
        """
        try:
            if self.settings.checkpoint_keep_latest is not None:
                await prune_checkpoints(
                    self.graph.checkpointer, [thread_id], self.settings.checkpoint_keep_latest
                )  # type: ignore[arg-type]
            if self.backend.kind == "redis":
                info = await self.backend.registry.get(thread_id)
                if info is not None and info.ttl_minutes is not None:
                    await refresh_redis_expiry(self.backend, thread_id, info.ttl_minutes)
        except Exception:
            log.exception("retention after a turn of thread %s failed", thread_id)


@dataclass
class _Turn:
    """One turn in progress: what to send to the graph, and what the caller learnt of the outcome."""

    graph_input: dict[str, Any] | Command | None
    config: RunnableConfig
    interrupted: bool | None = None
    """``None``: unknown, read the state after the turn."""


def _context(context: Context | Mapping[str, Any] | None) -> Context:
    return context if isinstance(context, Context) else coerce_context(dict(context or {}))
