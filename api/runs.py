"""The run manager: admission, multitask strategies, execution and bookkeeping of runs.

Every run (``/wait``, ``/stream`` or background) executes as its own task: it waits for the
thread (:class:`ThreadLock`, arrival order), then for a server-wide slot, streams the graph into
the :class:`StreamBroker` and records its outcome in the :class:`RunRegistry`. The HTTP handlers
only create runs and read the broker or the registry, so a run survives its client unless the
client asked for ``on_disconnect=cancel``.

Failure keeps the thread usable: the thread is rolled back to the checkpoint it had before the
run (``Sessions.rollback``) and marked ``error``; the next run starts from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from sessiongraph.api.coordination import RunRecord, RunRegistry, StreamBroker, ThreadLock
from sessiongraph.api.errors import BadRequest, Conflict, Overloaded
from sessiongraph.api.executor import RunOutcome, RunPlan, drive
from sessiongraph.api.metrics import Metrics
from sessiongraph.api.serialize import dumps, error_payload
from sessiongraph.checkpoints.registry import ThreadInfo, ThreadStatus
from sessiongraph.sessions import NoPendingInterrupt, Sessions

log = logging.getLogger("sessiongraph.api.runs")

CancelAction = Literal["interrupt", "rollback"]
RemoteCancel = Callable[[str, CancelAction], Awaitable[None]]
BUSY_DETAIL = (
    "Thread is already running a task. Wait for it to finish or choose a different multitask strategy "
    "(enqueue, interrupt or rollback)."
)


class RunManager:
    """Creates, executes, cancels and reports runs (see the module docstring)."""

    def __init__(
        self,
        sessions: Sessions,
        *,
        lock: ThreadLock,
        runs: RunRegistry,
        broker: StreamBroker,
        metrics: Metrics,
        max_concurrent: int,
        max_queued: int,
    ) -> None:
        self.sessions = sessions
        self.lock = lock
        self.runs = runs
        self.broker = broker
        self.metrics = metrics
        self._slots = asyncio.Semaphore(max_concurrent)
        self._capacity = max_concurrent + max_queued
        self._admitted = 0
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._graph_tasks: dict[str, asyncio.Task[RunOutcome]] = {}
        self._cancel: dict[str, CancelAction] = {}
        # Set when several replicas share the runs: asks the others to cancel a run not running here.
        self.remote_cancel: RemoteCancel | None = None

    # --- creation --------------------------------------------------------------------------

    async def start(
        self,
        thread: ThreadInfo,
        plan: RunPlan,
        *,
        assistant_id: str,
        metadata: dict[str, Any],
        kwargs: dict[str, Any],
        multitask_strategy: str,
        temporary: bool = False,
    ) -> RunRecord:
        """Admit a run on ``thread`` and schedule it; raise 409/503 (or 400 for a stray resume)."""
        if self._admitted >= self._capacity:
            raise Overloaded(
                "Too many runs are executing or queued; retry shortly", headers={"Retry-After": "1"}
            )
        active = await self.runs.active(thread.thread_id)
        if active and multitask_strategy == "reject":
            raise Conflict(BUSY_DETAIL)
        if not active and isinstance(plan.graph_input, Command) and plan.graph_input.resume is not None:
            await self._require_interrupt(thread.thread_id)
        if active and multitask_strategy in ("interrupt", "rollback"):
            for other in active:
                await self.cancel(other, multitask_strategy)  # type: ignore[arg-type]
        run_id = str(uuid.uuid4())
        plan.config["run_id"] = uuid.UUID(run_id)
        plan.config.setdefault("metadata", {}).update(
            run_id=run_id, thread_id=thread.thread_id, assistant_id=assistant_id
        )
        stamp = time.time()
        record = RunRecord(
            run_id=run_id,
            thread_id=thread.thread_id,
            assistant_id=assistant_id,
            status="pending",
            created_at=stamp,
            updated_at=stamp,
            metadata=metadata,
            kwargs=kwargs,
            multitask_strategy=multitask_strategy,
            owner=thread.owner,
            temporary=temporary,
        )
        await self.runs.put(record)
        await self.broker.open(run_id)
        await self._mark_busy(thread, assistant_id)
        self._admitted += 1
        self.metrics.run_admitted()
        self._tasks[run_id] = asyncio.create_task(self._run(record, plan), name=f"run-{run_id}")
        return record

    async def forget_threads(self, thread_ids: list[str]) -> None:
        """Drop the run records of threads that no longer exist (e.g. swept by their TTL)."""
        for thread_id in thread_ids:
            await self.runs.delete_thread(thread_id)

    async def _require_interrupt(self, thread_id: str) -> None:
        try:
            await self.sessions.require_interrupt(thread_id)
        except NoPendingInterrupt as exc:
            raise BadRequest(
                f"thread {thread_id} has no pending interrupt, so command.resume has nothing to resume; "
                "send input instead"
            ) from exc

    async def _mark_busy(self, thread: ThreadInfo, assistant_id: str) -> None:
        registry = self.sessions.backend.registry
        if thread.metadata.get("graph_id") is None:
            meta = {"graph_id": self.sessions.graph.name, "assistant_id": assistant_id}
            await registry.update(thread.thread_id, metadata=meta, status="busy")
        elif thread.status != "busy":
            await registry.set_status(thread.thread_id, "busy")

    # --- execution -------------------------------------------------------------------------

    async def _run(self, record: RunRecord, plan: RunPlan) -> None:
        thread_id = record.thread_id
        try:
            async with self.lock.hold(thread_id):
                hint: ThreadStatus | None = None
                if record.status == "pending" and record.run_id not in self._cancel:
                    async with self._slots:
                        hint = await self._execute(record, plan)
                if not record.temporary:
                    await self._settle_thread(record.thread_id, hint)
                    await self.sessions.after_turn(record.thread_id)
        except Exception:
            log.exception("run %s failed outside the graph", record.run_id)
        finally:
            self._admitted -= 1
            self.metrics.run_released()
            self._tasks.pop(record.run_id, None)
            self._cancel.pop(record.run_id, None)
            if record.temporary:
                with contextlib.suppress(Exception):
                    await self.sessions.backend.delete_thread(thread_id)
            await self.broker.close(record.run_id)

    async def _execute(self, record: RunRecord, plan: RunPlan) -> ThreadStatus | None:
        """Run the graph; return the thread status it implies (``None``: read it from the state)."""
        thread_id = record.thread_id
        if isinstance(plan.graph_input, Command) and plan.graph_input.resume is not None:
            try:
                await self._require_interrupt(thread_id)
            except BadRequest as exc:
                await self._fail(record, exc)
                return None
        before = await self.sessions.head(thread_id)
        await self._set_run(record, "running")
        started = time.perf_counter()
        self.metrics.run_started()

        async def publish(event: str, data: bytes) -> None:
            await self.broker.publish(record.run_id, event, data)

        await publish("metadata", dumps({"run_id": record.run_id, "attempt": 1}))
        graph_task = asyncio.create_task(drive(self.sessions.graph, plan, record.run_id, publish))
        self._graph_tasks[record.run_id] = graph_task
        try:
            await asyncio.wait({graph_task})
        except asyncio.CancelledError:  # the server is shutting down
            graph_task.cancel()
            self._cancel.setdefault(record.run_id, "interrupt")
            await asyncio.wait({graph_task})
        finally:
            self._graph_tasks.pop(record.run_id, None)
        hint: ThreadStatus | None = None
        if graph_task.cancelled():
            action = self._cancel.get(record.run_id, "interrupt")
            if action == "rollback":
                await self.sessions.rollback(thread_id, before)
                await self.runs.delete(record.run_id)
                record.status = "interrupted"
            else:
                record.result = await self._fallback_result(thread_id)
                await self._set_run(record, "interrupted")
        elif (exc := graph_task.exception()) is not None:
            await self._fail(record, exc, restore_to=before)
            hint = "error"
        else:
            outcome = graph_task.result()
            record.result = dumps(outcome.values or {})
            record.error = None
            if outcome.interrupted:
                hint = "interrupted"
            elif plan.interrupt_before is None and plan.interrupt_after is None:
                hint = "idle"
            await self._set_run(record, "success")
            await publish("end", b"null")
        self.metrics.run_finished(record.status, time.perf_counter() - started)
        return hint

    async def _fail(
        self, record: RunRecord, exc: BaseException, *, restore_to: RunnableConfig | bool | None = False
    ) -> None:
        """Record the failure; unless ``restore_to`` is False, roll the thread back to that head."""
        if restore_to is not False:
            await self.sessions.rollback(record.thread_id, restore_to)
        if not isinstance(exc, BadRequest):
            log.warning("run %s on thread %s failed: %r", record.run_id, record.thread_id, exc)
        record.error = error_payload(exc)
        record.result = dumps({"__error__": record.error})
        await self._set_run(record, "error")
        await self.broker.publish(record.run_id, "error", dumps(record.error))

    async def _set_run(self, record: RunRecord, status: Any) -> None:
        record.status = status
        record.updated_at = time.time()
        await self.runs.put(record)

    async def _settle_thread(self, thread_id: str, hint: ThreadStatus | None) -> None:
        """The thread's status once a run is over (still busy while other runs wait for it)."""
        if await self.runs.active(thread_id):
            return
        status = hint
        if status is None:
            state = await self.sessions.get_state(thread_id)
            status = "interrupted" if state.next else "idle"
        await self.sessions.backend.registry.set_status(thread_id, status)

    async def _fallback_result(self, thread_id: str) -> bytes:
        state = await self.sessions.get_state(thread_id)
        return dumps(state.values or {})

    # --- cancellation and results ----------------------------------------------------------

    async def cancel(self, record: RunRecord, action: CancelAction = "interrupt") -> bool:
        """Stop a pending or running run; ``rollback`` also undoes its checkpoints and forgets it.

        With ``remote_cancel`` set, a run that is not executing here is another replica's: the
        request goes there (``cancel_here``) and this returns ``True`` at once."""
        if not record.active:
            return False
        if self.remote_cancel is not None and record.run_id not in self._tasks:
            await self.remote_cancel(record.run_id, action)
            return True
        self._cancel[record.run_id] = action
        graph_task = self._graph_tasks.get(record.run_id)
        if graph_task is not None:
            graph_task.cancel()
            return True
        if record.status == "pending":
            if action == "rollback":
                await self.runs.delete(record.run_id)
                record.status = "interrupted"
            else:
                await self._set_run(record, "interrupted")
            await self.broker.close(record.run_id)
        return True

    async def cancel_here(self, run_id: str, action: CancelAction) -> None:
        """Another replica's cancel request: cancel the run if it executes on this one."""
        if run_id not in self._tasks:
            return
        record = await self.runs.get(run_id)
        if record is not None:
            await self.cancel(record, action)

    async def result(self, record: RunRecord) -> bytes:
        """The ``/wait`` body of a finished run (thread values when the run kept none)."""
        latest = await self.runs.get(record.run_id) or record
        if latest.result is not None:
            return latest.result
        try:
            return await self._fallback_result(record.thread_id)
        except Exception:
            return b"{}"

    async def wait(self, run_id: str, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the run to finish; ``True`` once it has."""
        return await self.broker.wait_closed(run_id, timeout)

    @property
    def active_count(self) -> int:
        """Runs admitted and not finished (pending or running) on this replica."""
        return self._admitted

    async def aclose(self) -> None:
        """Interrupt every run (server shutdown) and wait for their bookkeeping."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
