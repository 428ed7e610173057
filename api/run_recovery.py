"""Crash recovery: finish the runs a dead server process left ``pending`` or ``running``.

A process killed mid-run (``kill -9``, an OOM, a lost host) leaves its run records active and
its threads ``busy``. At start-up and then every ``interval_s`` seconds, :class:`RunRecovery`
looks at every active run: one whose worker is dead (in one process: any other process; on
Redis or PostgreSQL: a replica whose lease lapsed) is reclaimed once (a claim in the store keeps two
replicas from doing it twice). Holding the thread's lock, the turn is finished by the session
lifecycle (``Sessions.abandon_turn``): a run that had started is rolled back to the checkpoint
it started from and its thread marked ``error``; one that never started leaves the thread as its
state says. The record becomes ``error`` with a message saying to send the run again, and the
run's stream ends with an ``error`` event.

Interrupted runs are not re-queued (the reference server retries them): a retry would repeat
the side effects of tools the dead run already called; the caller decides.

At start-up, threads left ``busy`` with no active run at all (a crash between the two writes)
are settled from their state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from sessiongraph.api.background import in_background
from sessiongraph.api.coordination import Coordination, RunRecord
from sessiongraph.api.run_errors import RunAbandoned
from sessiongraph.api.run_manager import RunManager
from sessiongraph.api.serialize import dumps, error_payload

log = logging.getLogger("sessiongraph.api.run_recovery")

STUCK_THREADS_PAGE = 1000


class RunRecovery:
    """Reclaims the runs of dead processes (see the module docstring)."""

    def __init__(self, manager: RunManager, coordination: Coordination, *, interval_s: float) -> None:
        self._manager = manager
        self._sessions = manager.sessions
        self._coordination = coordination
        self._interval_s = interval_s

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Recover once now, then in the background while inside."""
        try:
            await self.sweep()
            await self.settle_stuck_threads()
        except Exception:
            log.exception("start-up recovery failed; retrying in the background")
        async with in_background(self._loop(), "run-recovery"):
            yield

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self._manager.store_unsaved()
                await self.sweep()
            except Exception as exc:
                log.warning("recovery sweep failed (store unreachable?): %r", exc)

    async def sweep(self) -> int:
        """Reclaim every active run whose process is gone; returns how many were reclaimed."""
        workers = self._coordination.workers
        reclaimed = 0
        for run in await self._coordination.runs.all_active():
            if self._manager.owns(run.run_id):
                continue
            if run.worker != workers.worker_id and await workers.alive(run.worker):
                continue
            if not await workers.claim(run.run_id):
                continue
            try:
                reclaimed += await self._reclaim(run)
            except Exception:
                log.exception("could not reclaim run %s of thread %s", run.run_id, run.thread_id)
        return reclaimed

    async def _reclaim(self, run: RunRecord) -> int:
        runs = self._coordination.runs
        # The dead holder's lock lease lapses first: nothing else runs on the thread meanwhile.
        async with self._coordination.lock.hold(run.thread_id):
            current = await runs.get(run.run_id)
            if current is None or not current.active:
                return 0
            # A later run that started means this one's turn was over: undo nothing of it.
            later = [
                r
                for r in await runs.of_thread(current.thread_id, limit=100)
                if r.created_at > current.created_at
            ]
            superseded = any(r.status in ("running", "success", "interrupted") for r in later)
            started = current.status == "running" and not superseded

            async def others_active() -> bool:
                return any(r.run_id != current.run_id for r in await runs.active(current.thread_id))

            await self._sessions.abandon_turn(
                current.thread_id, current.started_from, started=started, keep_busy=others_active
            )
            current.error = error_payload(RunAbandoned(started))
            current.result = dumps({"__error__": current.error})
            current.status = "error"
            current.updated_at = time.time()
            await runs.put(current)
            self._manager.forget_unstored(current.run_id)
        log.warning(
            "reclaimed run %s of thread %s left %s by worker %s",
            run.run_id,
            run.thread_id,
            "running" if started else "pending",
            run.worker,
        )
        broker = self._coordination.broker
        await broker.open(run.run_id)
        await broker.publish(run.run_id, "error", dumps(current.error))
        await broker.close(run.run_id)
        return 1

    async def settle_stuck_threads(self) -> int:
        """Settle threads marked ``busy`` that have no active run; returns how many."""
        settled = 0
        for info in await self._sessions.list_threads(status="busy", limit=STUCK_THREADS_PAGE):
            if await self._coordination.runs.active(info.thread_id):
                continue
            await self._sessions.settle(info.thread_id)
            settled += 1
        return settled
