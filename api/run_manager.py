"""The run manager: admission, multitask strategies, execution and bookkeeping of runs.

Every run (``/wait``, ``/stream`` or background) executes as its own task: it waits for the
thread (:class:`ThreadLock`, arrival order), then for one of its owner's slots (so one owner
cannot hold every slot), then for a server-wide slot, and then runs one turn
through the session facade's lifecycle (``Sessions.turn``: busy, run, settle or roll back,
retention), streaming into the :class:`StreamBroker` and recording its outcome in the
:class:`RunRegistry`. The HTTP handlers only create runs and read results or subscribe through
this class, so a run survives its client unless the client asked for ``on_disconnect=cancel``.

Admission is atomic: a run's place counts from the first line of :meth:`RunManager.start`,
before any wait, so runs arriving together never exceed ``max_concurrent + max_queued``.
Each record names this process (``worker``) and, once it runs, the checkpoint its turn started
from, so that :mod:`.run_recovery` can finish the runs of a process that died. On SIGTERM
:meth:`RunManager.drain` admits nothing more, fails the queued runs at once, gives the running
ones a grace period and then stops them with a rollback; every stream ends with ``error``.

Errors are domain errors (:mod:`sessiongraph.api.run_errors`); HTTP is not known here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sessiongraph.api.coordination import Coordination, RunRecord
from sessiongraph.api.executor import RunOutcome, RunPlan, drive
from sessiongraph.api.metrics import Metrics
from sessiongraph.api.run_book import RunBook
from sessiongraph.api.run_errors import (
    CheckpointNotFound,
    RunCapacityExceeded,
    ServerDraining,
    ServerStopped,
    ThreadBusy,
)
from sessiongraph.api.serialize import dumps, error_payload
from sessiongraph.checkpoints import PruneStrategy, ThreadInfo
from sessiongraph.checkpoints.errors import store_error
from sessiongraph.lifecycle import CancelAction, NoPendingInterrupt, is_resume
from sessiongraph.sessions import Sessions

log = logging.getLogger("sessiongraph.api.run_manager")


@dataclass
class _OwnerSlot:
    semaphore: asyncio.Semaphore
    users: int = 0


class RunManager(RunBook):
    """Creates, executes, cancels and reports runs (see the module docstring)."""

    def __init__(
        self,
        sessions: Sessions,
        coordination: Coordination,
        *,
        metrics: Metrics,
        max_concurrent: int,
        max_queued: int,
        max_per_owner: int | None = None,
        max_queued_per_owner: int | None = None,
    ) -> None:
        super().__init__(sessions, coordination)
        self.metrics = metrics
        self._slots = asyncio.Semaphore(max_concurrent)
        self._max_per_owner = max_per_owner or max_concurrent
        self._owner_slots: dict[str, _OwnerSlot] = {}
        self._owner_capacity = self._max_per_owner + (
            max_queued if max_queued_per_owner is None else max_queued_per_owner
        )
        self._admitted_by_owner: dict[str, int] = {}
        self._capacity = max_concurrent + max_queued
        self._admitted = 0
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._graph_tasks: dict[str, asyncio.Task[RunOutcome]] = {}
        self._cancel: dict[str, CancelAction] = {}
        self._admitting: set[str] = set()
        self._draining = False
        self._stopping: set[str] = set()

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
        """Admit a run on ``thread`` and schedule it.

        Raises :class:`ServerDraining`, :class:`RunCapacityExceeded`, :class:`ThreadBusy`
        (``reject``), :class:`NoPendingInterrupt` (a resume with nothing to resume) or
        :class:`CheckpointNotFound`.
        """
        if self._draining:
            raise ServerDraining()
        if self._admitted >= self._capacity:
            raise RunCapacityExceeded()
        owner = thread.owner
        if owner is not None:
            # Reserved before the first await, so runs arriving together cannot overshoot the cap.
            if self._admitted_by_owner.get(owner, 0) >= self._owner_capacity:
                raise RunCapacityExceeded(
                    f"You have {self._owner_capacity} runs executing or queued, the most one owner may "
                    "have (settings max_running_runs_per_owner + max_queued_runs_per_owner); retry once "
                    "some end"
                )
            self._admitted_by_owner[owner] = self._admitted_by_owner.get(owner, 0) + 1
        # The server-wide place too is taken before the first await.
        self._admitted += 1
        run_id = str(uuid.uuid4())
        self._admitting.add(run_id)
        try:
            record = await self._admit(
                run_id,
                thread,
                plan,
                assistant_id=assistant_id,
                metadata=metadata,
                kwargs=kwargs,
                multitask_strategy=multitask_strategy,
                temporary=temporary,
            )
        except BaseException:
            self._admitted -= 1
            self._release_owner(owner)
            raise
        finally:
            self._admitting.discard(run_id)
        self.metrics.run_admitted()
        self._tasks[run_id] = asyncio.create_task(self._run(record, plan), name=f"run-{run_id}")
        return record

    async def _admit(
        self,
        run_id: str,
        thread: ThreadInfo,
        plan: RunPlan,
        *,
        assistant_id: str,
        metadata: dict[str, Any],
        kwargs: dict[str, Any],
        multitask_strategy: str,
        temporary: bool,
    ) -> RunRecord:
        thread_id = thread.thread_id
        if plan.checkpoint_id and not await self.sessions.has_checkpoint(thread_id, plan.checkpoint_id):
            raise CheckpointNotFound(plan.checkpoint_id, thread_id)
        active = await self._runs.active(thread_id)
        if active and multitask_strategy == "reject":
            raise ThreadBusy(thread_id)
        if not active and is_resume(plan.graph_input):
            await self.sessions.require_interrupt(thread_id)
        if active and multitask_strategy in ("interrupt", "rollback"):
            action: CancelAction = "rollback" if multitask_strategy == "rollback" else "interrupt"
            for other in active:
                await self.cancel(other, action)
        plan.config["run_id"] = uuid.UUID(run_id)
        plan.config.setdefault("metadata", {}).update(
            run_id=run_id, thread_id=thread_id, assistant_id=assistant_id
        )
        stamp = time.time()
        record = RunRecord(
            run_id=run_id,
            thread_id=thread_id,
            assistant_id=assistant_id,
            status="pending",
            created_at=stamp,
            updated_at=stamp,
            metadata=metadata,
            kwargs=kwargs,
            multitask_strategy=multitask_strategy,
            owner=thread.owner,
            temporary=temporary,
            worker=self.worker_id,
        )
        await self._runs.put(record)
        await self._broker.open(run_id)
        first_run = thread.metadata.get("graph_id") is None
        await self.sessions.mark_busy(
            thread_id,
            {"graph_id": self.sessions.graph_id, "assistant_id": assistant_id} if first_run else None,
        )
        return record

    # --- execution -------------------------------------------------------------------------

    async def _run(self, record: RunRecord, plan: RunPlan) -> None:
        try:
            async with self._lock.hold(record.thread_id):
                executed = False
                if record.run_id in self._stopping:
                    executed = True  # told, and its thread settled, by _stop_pending
                    await self._stop_pending(record)
                elif self._runnable(record):
                    # The owner's share first: a run waiting for it holds no server-wide slot.
                    async with self._owner_slot(record.owner), self._slots:
                        if self._runnable(record):
                            executed = True
                            await self._execute(record, plan)
                if not executed and not await self._others_active(record):
                    # Cancelled while it waited: the thread may have nothing else to run.
                    await self.sessions.settle(record.thread_id)
        except asyncio.CancelledError:
            # Shutdown: a run still waiting for its thread or a slot fails now (its client is
            # told); one cut off mid-turn is left to recovery, which rolls it back.
            if record.status == "pending":
                await asyncio.shield(self._stop_pending(record))
        except Exception:
            log.exception("run %s failed outside the graph", record.run_id)
        finally:
            self._admitted -= 1
            self._release_owner(record.owner)
            self.metrics.run_released()
            self._tasks.pop(record.run_id, None)
            self._cancel.pop(record.run_id, None)
            if record.temporary:
                # A stateless run leaves nothing behind: its thread and its run records go.
                with contextlib.suppress(Exception):
                    await self.sessions.delete_thread(record.thread_id)
                with contextlib.suppress(Exception):
                    await self._runs.delete_thread(record.thread_id)
            try:
                await self._broker.close(record.run_id)
            except Exception:  # the store is down: its stream state expires by itself
                log.warning("could not close the stream of run %s", record.run_id, exc_info=True)

    def _release_owner(self, owner: str | None) -> None:
        if owner is None:
            return
        left = self._admitted_by_owner.get(owner, 1) - 1
        if left > 0:
            self._admitted_by_owner[owner] = left
        else:
            self._admitted_by_owner.pop(owner, None)

    def _runnable(self, record: RunRecord) -> bool:
        return record.status == "pending" and record.run_id not in self._cancel

    @contextlib.asynccontextmanager
    async def _owner_slot(self, owner: str | None) -> AsyncIterator[None]:
        """One of the owner's ``max_per_owner`` execution slots (no cap without an owner: auth off)."""
        if owner is None:
            yield
            return
        slot = self._owner_slots.setdefault(owner, _OwnerSlot(asyncio.Semaphore(self._max_per_owner)))
        slot.users += 1
        try:
            async with slot.semaphore:
                yield
        finally:
            slot.users -= 1
            if slot.users == 0:
                self._owner_slots.pop(owner, None)

    async def _execute(self, record: RunRecord, plan: RunPlan) -> None:
        started = time.perf_counter()
        try:
            async with self.sessions.turn(
                record.thread_id,
                plan.graph_input,
                config=plan.config,
                create=False,
                keep_busy=lambda: self._others_active(record),
            ) as turn:
                record.started_from = turn.started_from
                await self._set_run(record, "running")
                self.metrics.run_started()
                await self._publish(record, "metadata", dumps({"run_id": record.run_id, "attempt": 1}))
                task = asyncio.create_task(drive(turn, plan, lambda e, d: self._publish(record, e, d)))
                self._graph_tasks[record.run_id] = task
                try:
                    await asyncio.wait({task})
                except asyncio.CancelledError:  # the server is shutting down
                    task.cancel()
                    self._cancel.setdefault(record.run_id, "interrupt")
                    await asyncio.wait({task})
                finally:
                    self._graph_tasks.pop(record.run_id, None)
                if task.cancelled():
                    turn.cancelled = self._cancel.get(record.run_id, "interrupt")
                else:
                    outcome = task.result()  # a graph error propagates: the lifecycle rolls back
                    turn.saw_values(outcome.values, interrupted=outcome.interrupted)
                    record.result = dumps(outcome.values or {})
        except NoPendingInterrupt as exc:  # the interrupt was answered while this run waited
            await self._fail(record, exc)
            if not await self._others_active(record):
                await self.sessions.settle(record.thread_id)
            return
        except Exception as exc:
            log.warning("run %s on thread %s failed: %r", record.run_id, record.thread_id, exc)
            await self._fail(record, exc)
            self.metrics.run_finished(record.status, time.perf_counter() - started)
            return
        if turn.cancelled == "rollback" and record.run_id in self._stopping:
            await self._fail(record, ServerStopped(started=True))
        elif turn.cancelled == "rollback":
            await self._runs.delete(record.run_id)
            record.status = "interrupted"
        elif turn.cancelled is not None:
            record.result = dumps((await self.sessions.get_state(record.thread_id)).values or {})
            await self._set_run(record, "interrupted")
        else:
            record.error = None
            await self._set_run(record, "success")
            await self._publish(record, "end", b"null")
        self.metrics.run_finished(record.status, time.perf_counter() - started)

    async def _publish(self, record: RunRecord, event: str, data: bytes) -> None:
        await self._broker.publish(record.run_id, event, data)

    async def _fail(self, record: RunRecord, exc: BaseException) -> None:
        record.error = error_payload(store_error(exc) or exc)
        record.result = dumps({"__error__": record.error})
        try:
            await self._set_run(record, "error")
        finally:
            await self._publish(record, "error", dumps(record.error))

    async def _stop_pending(self, record: RunRecord) -> None:
        """Fail a run that never started because the server is shutting down."""
        try:
            await self._fail(record, ServerStopped(started=False))
            if not await self._others_active(record):
                await self.sessions.settle(record.thread_id)
        except Exception:
            log.exception("could not record that run %s was stopped", record.run_id)

    # --- threads with runs -----------------------------------------------------------------

    async def prune_threads(
        self, thread_ids: Sequence[str], strategy: PruneStrategy, keep_latest: int
    ) -> int:
        """Prune threads that have no pending or running run (the others are skipped)."""
        pruned = 0
        for thread_id in dict.fromkeys(thread_ids):
            if await self._runs.active(thread_id):
                continue
            # Holding the thread's run lock makes a run that arrives meanwhile wait for the prune.
            async with self._lock.hold(thread_id):
                if await self._runs.active(thread_id):
                    continue
                count = await self.sessions.prune([thread_id], strategy, keep_latest=keep_latest)
            if count and strategy == "delete":
                await self._runs.delete_thread(thread_id)
            pruned += count
        return pruned

    async def delete_thread(self, thread_id: str, *, cancel_timeout_s: float = 30.0) -> None:
        """Cancel the thread's runs, then delete it with its checkpoints and run records."""
        for run in await self._runs.active(thread_id):
            await self.cancel(run, "interrupt")
            await self.wait(run.run_id, timeout=cancel_timeout_s)
        with contextlib.suppress(KeyError):
            await self.sessions.delete_thread(thread_id)
        await self._runs.delete_thread(thread_id)

    async def forget_threads(self, thread_ids: list[str]) -> None:
        """Drop the run records of threads that no longer exist (e.g. swept by their TTL)."""
        for thread_id in thread_ids:
            await self._runs.delete_thread(thread_id)

    # --- cancellation ----------------------------------------------------------------------

    async def cancel(self, record: RunRecord, action: CancelAction = "interrupt") -> bool:
        """Stop a pending or running run; ``rollback`` also undoes its checkpoints and forgets it.

        With shared coordination, a run that is not executing here is another replica's: the
        request goes there (:meth:`cancel_here`) and this returns ``True`` at once."""
        if not record.active:
            return False
        if self._coordination.shared and record.run_id not in self._tasks:
            await self._coordination.cancel_elsewhere(record.run_id, action)
            return True
        self._cancel[record.run_id] = action
        graph_task = self._graph_tasks.get(record.run_id)
        if graph_task is not None:
            graph_task.cancel()
            return True
        if record.status == "pending":
            if action == "rollback":
                await self._runs.delete(record.run_id)
                record.status = "interrupted"
            else:
                await self._set_run(record, "interrupted")
            await self._broker.close(record.run_id)
        return True

    async def cancel_here(self, run_id: str, action: CancelAction) -> None:
        """Another replica's cancel request: cancel the run if it executes on this one."""
        if run_id not in self._tasks:
            return
        record = await self._runs.get(run_id)
        if record is not None:
            await self.cancel(record, action)

    # --- shutdown and recovery ---------------------------------------------------------------

    @property
    def draining(self) -> bool:
        """Whether the server is shutting down (no new runs are admitted)."""
        return self._draining

    @property
    def in_flight(self) -> int:
        """How many runs this process has admitted and not finished yet."""
        return len(self._tasks)

    def owns(self, run_id: str) -> bool:
        """Whether this process is admitting or executing the run, or has yet to store its success."""
        unstored = self._unstored.get(run_id)
        return (
            run_id in self._tasks
            or run_id in self._admitting
            or (unstored is not None and unstored.status == "success")
        )

    async def drain(self, grace_s: float) -> None:
        """Shut down runs cleanly (SIGTERM): admit no more; fail the queued runs at once; give
        the running ones ``grace_s`` seconds, then stop them with a rollback. Every stopped
        run's record says so, and its stream ends with an ``error`` event."""
        self._draining = True
        for run_id, task in list(self._tasks.items()):
            if run_id not in self._graph_tasks:
                self._stopping.add(run_id)
                task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=grace_s)
        for run_id, graph_task in list(self._graph_tasks.items()):
            log.warning("run %s did not finish within the %ss grace period; stopping it", run_id, grace_s)
            self._stopping.add(run_id)
            self._cancel[run_id] = "rollback"
            graph_task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=max(grace_s, 5.0))

    async def aclose(self) -> None:
        """Stop every run still going (server shutdown without a drain, e.g. Ctrl-C): like
        :meth:`drain` with no grace, then cancel whatever is left."""
        if self._tasks:
            await self.drain(0.0)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
