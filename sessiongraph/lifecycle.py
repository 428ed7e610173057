"""The one turn lifecycle: busy -> run -> settle (or roll back) -> housekeeping.

Every turn, whoever starts it (the CLI, a notebook through :class:`~sessiongraph.Sessions`, an
HTTP run, another door), goes through :meth:`Lifecycle.turn`:

1. the thread must exist (the facade creates it first when asked), a resume must find a
   pending interrupt;
2. the thread's newest checkpoint is remembered (what a failure rolls back to) and the thread is
   marked ``busy``;
3. the caller runs the graph through the :class:`Turn` it is handed (``turn.ainvoke``,
   ``turn.astream``, ``turn.astream_events``);
4. on success the thread's status is settled by :func:`settled_status`; on failure the thread is
   rolled back to the remembered checkpoint and marked ``error``; a cancelled turn keeps its
   checkpoints (``interrupt``) or is rolled back (``rollback``) and is settled by the same rule;
5. retention and expiry are applied (``Backend.after_turn``).

A turn cut off by a dead process (``kill -9``, a crash, a lost Redis) is finished later by
:meth:`Lifecycle.abandon`: the thread is rolled back to the checkpoint recorded before the turn
and marked ``error``, like a turn that failed in place.

Thread status is written here and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot

from sessiongraph.checkpoints import Backend, ThreadStatus
from sessiongraph.nodes.memory import OWNER_KEY

log = logging.getLogger("sessiongraph.lifecycle")

CancelAction = Literal["interrupt", "rollback"]
GraphInput = dict[str, Any] | list[Any] | Command | None


class NoPendingInterrupt(RuntimeError):
    """A resume was sent to a thread that is not waiting at an interrupt."""

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


def settled_status(state: StateSnapshot) -> ThreadStatus:
    """The one status rule after a turn: ``interrupted`` while the graph has nodes to run next
    (an ``interrupt()``, a static breakpoint, or a turn cancelled mid-way), else ``idle``."""
    return "interrupted" if state.next else "idle"


def is_resume(graph_input: GraphInput) -> bool:
    """Whether the input answers an interrupt (``Command(resume=...)``)."""
    return isinstance(graph_input, Command) and graph_input.resume is not None


@dataclass
class Turn:
    """One turn in progress: the graph call it stands for, and what the caller learnt of it."""

    thread_id: str
    graph_input: GraphInput
    config: RunnableConfig
    before: RunnableConfig | None
    """The thread's newest checkpoint before the turn (``None``: it had none)."""
    graph: CompiledStateGraph[Any, Any, Any, Any] = field(repr=False)
    breakpoints: bool = False
    """Whether static ``interrupt_before``/``interrupt_after`` were given."""
    paused: bool | None = None
    """Whether the graph stopped with nodes left to run, when the caller knows (else read)."""
    cancelled: CancelAction | None = None
    """Set by a caller that cancelled the graph: keep (``interrupt``) or undo (``rollback``)."""
    status: ThreadStatus | None = None
    """The status the thread settled to (set when the turn is over)."""

    @property
    def started_from(self) -> str | None:
        """The id of the checkpoint the turn started from (``None``: the thread had none)."""
        return None if self.before is None else self.before["configurable"].get("checkpoint_id")

    def _kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        if kwargs.get("interrupt_before") or kwargs.get("interrupt_after"):
            self.breakpoints = True
        return kwargs

    def saw_values(self, values: Mapping[str, Any] | None, *, interrupted: bool = False) -> None:
        """Note the last state values the graph produced (an ``__interrupt__`` in them, or
        ``interrupted`` seen elsewhere in the stream, means paused)."""
        if interrupted or (values is not None and values.get("__interrupt__")):
            self.paused = True
        elif not self.breakpoints:
            self.paused = False

    async def ainvoke(self, **kwargs: Any) -> dict[str, Any]:
        """``graph.ainvoke`` of this turn's input and config (``context=`` etc. pass through)."""
        values = await self.graph.ainvoke(self.graph_input, self.config, **self._kwargs(kwargs))
        self.saw_values(values)
        return values

    def astream(self, **kwargs: Any) -> AsyncIterator[Any]:
        """``graph.astream`` of this turn (the caller reports the outcome with :meth:`saw_values`)."""
        return self.graph.astream(self.graph_input, self.config, **self._kwargs(kwargs))

    def astream_events(self, **kwargs: Any) -> AsyncIterator[Any]:
        """``graph.astream_events(version="v2")`` of this turn."""
        return self.graph.astream_events(self.graph_input, self.config, version="v2", **self._kwargs(kwargs))


class Lifecycle:
    """The turn lifecycle over one backend and compiled graph (see the module docstring)."""

    def __init__(
        self,
        backend: Backend,
        graph: CompiledStateGraph[Any, Any, Any, Any],
        *,
        keep_latest: int | None = None,
    ) -> None:
        self.backend = backend
        self.graph = graph
        self.keep_latest = keep_latest
        """Checkpoints kept per thread after each turn (``None``: all)."""

    @contextlib.asynccontextmanager
    async def turn(
        self,
        thread_id: str,
        graph_input: GraphInput,
        *,
        config: RunnableConfig | None = None,
        keep_busy: Callable[[], Awaitable[bool]] | None = None,
    ) -> AsyncIterator[Turn]:
        """Run one turn on ``thread_id`` (see the module docstring).

        ``config`` adds to the thread's config (run id, metadata, tags, a checkpoint to start
        from); ``keep_busy`` is asked before settling: while it answers ``True`` (more runs wait
        for the thread) the thread stays ``busy``.
        """
        info = await self.backend.registry.require(thread_id)
        if is_resume(graph_input):
            await self.require_interrupt(thread_id)
        turn = Turn(
            thread_id=thread_id,
            graph_input=graph_input,
            config=_merge_config(thread_id, config, owner=info.owner),
            before=await self.head(thread_id),
            graph=self.graph,
        )
        await self.mark_busy(thread_id)
        try:
            yield turn
        except asyncio.CancelledError:
            # Cancelled from outside (a cancelled task, a shutdown): keep what ran, like an
            # interrupt-cancel over HTTP.
            turn.cancelled = turn.cancelled or "interrupt"
            await self._finish(turn, keep_busy)
            raise
        except BaseException:
            await self.rollback(thread_id, turn.before)
            await self._settle(turn, "error", keep_busy)
            await self._housekeeping(thread_id)
            raise
        await self._finish(turn, keep_busy)

    async def _finish(self, turn: Turn, keep_busy: Callable[[], Awaitable[bool]] | None) -> None:
        if turn.cancelled == "rollback":
            await self.rollback(turn.thread_id, turn.before)
            turn.paused = None
        elif turn.cancelled is not None:
            turn.paused = None
        if turn.paused is None:
            status = await self.status_of(turn.thread_id)
        else:
            status = "interrupted" if turn.paused else "idle"
        await self._settle(turn, status, keep_busy)
        await self._housekeeping(turn.thread_id)

    async def _settle(
        self, turn: Turn, status: ThreadStatus, keep_busy: Callable[[], Awaitable[bool]] | None
    ) -> None:
        turn.status = status
        if keep_busy is not None and await keep_busy():
            return
        await self.backend.registry.set_status(turn.thread_id, status)

    async def _housekeeping(self, thread_id: str) -> None:
        # The turn itself has succeeded (or failed) already: log, never raise.
        try:
            await self.backend.after_turn(thread_id, self.keep_latest)
        except Exception:
            log.exception("retention after a turn of thread %s failed", thread_id)

    async def abandon(
        self,
        thread_id: str,
        started_from: str | None,
        *,
        started: bool,
        keep_busy: Callable[[], Awaitable[bool]] | None = None,
    ) -> ThreadStatus | None:
        """Finish a turn whose process died: a ``started`` one is rolled back to the checkpoint
        ``started_from`` (``None``: to no checkpoint) and the thread marked ``error``; one that
        never started leaves the thread as its state says. Retention and expiry are applied as
        after any turn (keys written mid-turn get their TTL). ``None`` if the thread is gone."""
        if await self.backend.registry.get(thread_id) is None:
            return None
        status: ThreadStatus
        if started:
            before = None if started_from is None else thread_config(thread_id, started_from)
            await self.rollback(thread_id, before)
            status = "error"
        else:
            status = await self.status_of(thread_id)
        if keep_busy is None or not await keep_busy():
            await self.backend.registry.set_status(thread_id, status)
        await self._housekeeping(thread_id)
        return status

    async def mark_busy(self, thread_id: str, metadata: Mapping[str, Any] | None = None) -> None:
        """Mark the thread ``busy`` (merging ``metadata`` when given) unless it is already."""
        registry = self.backend.registry
        if metadata:
            await registry.update(thread_id, metadata=metadata, status="busy")
            return
        info = await registry.get(thread_id)
        if info is not None and info.status != "busy":
            await registry.set_status(thread_id, "busy")

    async def settle(self, thread_id: str) -> ThreadStatus:
        """Set the thread's status from its state by :func:`settled_status` (after a state edit)."""
        status = await self.status_of(thread_id)
        await self.backend.registry.set_status(thread_id, status)
        return status

    async def status_of(self, thread_id: str) -> ThreadStatus:
        """What :func:`settled_status` says of the thread's current state."""
        return settled_status(await self.graph.aget_state(thread_config(thread_id)))

    async def require_interrupt(self, thread_id: str) -> None:
        """Raise :class:`NoPendingInterrupt` unless the thread waits at an interrupt."""
        if not (await self.graph.aget_state(thread_config(thread_id))).interrupts:
            raise NoPendingInterrupt(thread_id)

    async def head(self, thread_id: str) -> RunnableConfig | None:
        """The config of the thread's newest checkpoint (``None`` without one): what to roll back to.

        Read before a turn rather than searched for after a failure: not every saver records
        run-tagging metadata (the Redis saver ignores config metadata).
        """
        checkpoint_id = await self.backend.head_checkpoint_id(thread_id)
        if checkpoint_id is None:
            return None
        return {"configurable": {"thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": checkpoint_id}}

    async def rollback(self, thread_id: str, before: RunnableConfig | None) -> None:
        """Make the checkpoint ``before`` the thread's head again (no checkpoints if ``None``)."""
        try:
            if before is None:
                await self.backend.checkpointer.adelete_thread(thread_id)
                return
            head = await self.head(thread_id)
            if head is not None and _checkpoint_id(head) == _checkpoint_id(before):
                return  # nothing was written after it
            paused = bool((await self.graph.aget_state(before)).interrupts)
            await self.graph.aupdate_state(before, None, as_node="__copy__")
            if paused:
                # The copy keeps the values but not the pending interrupt: run the paused node
                # (review_plan, no model call) again so that the thread waits for a resume again.
                await self.graph.ainvoke(None, thread_config(thread_id))
        except Exception:
            log.exception("rollback of thread %s failed; discarding the turn's checkpoints", thread_id)
            await self._discard_after(thread_id, before)

    async def _discard_after(self, thread_id: str, before: RunnableConfig | None) -> None:
        checkpoint_id = None if before is None else _checkpoint_id(before)
        try:
            if checkpoint_id is None or not await self.backend.discard_after(thread_id, checkpoint_id):
                log.error("thread %s keeps the failed turn's checkpoints", thread_id)
        except Exception:
            log.exception("could not discard the failed turn of thread %s", thread_id)


def _checkpoint_id(config: RunnableConfig) -> str | None:
    return config.get("configurable", {}).get("checkpoint_id")


def _merge_config(thread_id: str, extra: RunnableConfig | None, *, owner: str | None) -> RunnableConfig:
    config = RunnableConfig(**(extra or {}))
    configurable = dict(config.get("configurable") or {})
    # The memory owner comes from the registry, never from the caller: it selects whose memory
    # a cross-thread recall may read.
    configurable.update({"thread_id": thread_id, OWNER_KEY: owner or ""})
    configurable.setdefault("checkpoint_ns", "")
    config["configurable"] = configurable
    return config
