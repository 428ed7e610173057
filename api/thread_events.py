"""The v2 event stream of a thread (what ``client.threads.stream`` of langgraph-sdk 0.4 speaks).

A :class:`ThreadEvents` hub per thread numbers the thread's events (``seq``) and keeps the
newest ones for replay (``since``). ``run.start`` and ``input.respond`` commands start a run
through the :class:`RunStarter`; a pump task turns the run's protocol events (values, updates,
custom) into v2 events, framed by ``lifecycle`` events (``running``, then ``completed``,
``failed`` or ``interrupted``, the latter after one ``input.requested`` per pending interrupt).

Limits: the hub lives in the replica that started the run (an SSE connection to another
replica sees later runs only); messages are not re-shaped into the v2 message-block events.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sessiongraph.api.coordination import RunRecord
from sessiongraph.api.run_create import RunStarter
from sessiongraph.api.schemas import RunCreate
from sessiongraph.api.serialize import loads
from sessiongraph.sessions import Sessions

PASSED_THROUGH = ("values", "updates", "custom")
"""Run stream modes forwarded as v2 channels of the same name."""
REPLAY = 2000
HUBS_KEPT = 1000


@dataclass
class ThreadEvents:
    """One thread's numbered events and their listeners."""

    seq: int = 0
    run_began: int = 0
    """``seq`` before the newest run's first event: where a listener without ``since`` starts."""
    buffer: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=REPLAY))
    listeners: set[asyncio.Queue[dict[str, Any] | None]] = field(default_factory=set)

    def emit(self, method: str, data: Any, *, event_id: str | None = None) -> None:
        """Number an event and hand it to every listener."""
        self.seq += 1
        event = {
            "type": "event",
            "event_id": event_id or str(self.seq),
            "seq": self.seq,
            "method": method,
            "params": {"namespace": [], "timestamp": int(time.time() * 1000), "data": data},
        }
        self.buffer.append(event)
        for queue in self.listeners:
            queue.put_nowait(event)

    async def listen(self, since: int | None, heartbeat_s: float) -> AsyncIterator[dict[str, Any] | None]:
        """Buffered events after ``since`` (default: the newest run's, so a client that subscribes
        just after ``run.start`` misses nothing), then live ones; ``None`` after ``heartbeat_s``
        of silence."""
        start = self.run_began if since is None else since
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        for event in self.buffer:
            if event["seq"] > start:
                queue.put_nowait(event)
        self.listeners.add(queue)
        try:
            while True:
                try:
                    async with asyncio.timeout(heartbeat_s):
                        item = await queue.get()
                except TimeoutError:
                    yield None
                    continue
                yield item
        finally:
            self.listeners.discard(queue)


class ThreadEventHub:
    """The hubs of this replica's threads and the commands that start runs on them."""

    def __init__(self, sessions: Sessions, runs: RunStarter) -> None:
        self.sessions = sessions
        self.runs = runs
        self._hubs: OrderedDict[str, ThreadEvents] = OrderedDict()
        self._pumps: set[asyncio.Task[None]] = set()

    def hub(self, thread_id: str) -> ThreadEvents:
        """The thread's hub (created on first use; idle ones beyond ``HUBS_KEPT`` are dropped)."""
        hub = self._hubs.get(thread_id)
        if hub is None:
            hub = self._hubs[thread_id] = ThreadEvents()
            for old_id, old in list(self._hubs.items())[: max(0, len(self._hubs) - HUBS_KEPT)]:
                if not old.listeners:
                    del self._hubs[old_id]
        self._hubs.move_to_end(thread_id)
        return hub

    async def start(
        self, owner: str | None, thread_id: str, params: dict[str, Any], command: Any = None
    ) -> str:
        """Start a run on the thread (created if missing) and pump its events; the run id."""
        body = RunCreate.model_validate(
            {
                "assistant_id": params.get("assistant_id") or self.runs.assistants.graph_id,
                "input": None if command is not None else params.get("input"),
                "command": command,
                "config": params.get("config"),
                "metadata": params.get("metadata"),
                "context": params.get("context"),
                "stream_mode": ["values", "updates", "custom"],
                "if_not_exists": "create",
                "multitask_strategy": params.get("multitask_strategy") or "enqueue",
            }
        )
        run = await self.runs.start(owner, thread_id, body)
        subscription = await self.runs.manager.subscribe(run.run_id, 0)
        task = asyncio.create_task(self._pump(run, subscription), name=f"v2-{run.run_id}")
        self._pumps.add(task)
        task.add_done_callback(self._pumps.discard)
        return run.run_id

    async def _pump(self, run: RunRecord, subscription: Any) -> None:
        hub = self.hub(run.thread_id)
        graph = self.runs.assistants.graph_id
        failed: dict[str, Any] | None = None
        try:
            async for item in subscription:
                if item is None:
                    continue
                if item.event == "metadata":
                    hub.run_began = hub.seq
                    hub.emit(
                        "lifecycle",
                        {"event": "running", "graph_name": graph},
                        event_id=f"{run.run_id}:running",
                    )
                elif item.event == "error":
                    failed = loads(item.data)
                elif item.event in PASSED_THROUGH:
                    hub.emit(item.event, loads(item.data))
        finally:
            await subscription.aclose()
        if failed is not None:
            error = f"{failed.get('error')}: {failed.get('message')}"
            hub.emit("lifecycle", {"event": "failed", "graph_name": graph, "error": error})
            return
        state = await self.sessions.get_state(run.thread_id)
        pending = [i for task in state.tasks for i in task.interrupts]
        for interrupt in pending:
            hub.emit("input.requested", {"interrupt_id": interrupt.id, "value": interrupt.value})
        phase = "interrupted" if pending else "completed"
        hub.emit("lifecycle", {"event": phase, "graph_name": graph}, event_id=f"{run.run_id}:{phase}")

    async def aclose(self) -> None:
        """Stop the pumps (server shutdown)."""
        for task in list(self._pumps):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
