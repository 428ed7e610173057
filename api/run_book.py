"""The run book: the run records as this process and the store know them, and reading them.

:class:`RunBook` is the part of the :class:`~sessiongraph.api.run_manager.RunManager` that
stores and reads run records and results. A record whose final write failed (the store was
down or full) is remembered here (bounded), so that this process still answers truthfully for
it until recovery stores it: a success is stored by the next sweep, anything else is finished
(and rolled back) by :mod:`.run_recovery`.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from sessiongraph.api.coordination import Coordination, RunRecord, RunStatus, Subscription
from sessiongraph.api.run_errors import RunNotFound, RunStillActive
from sessiongraph.api.serialize import dumps
from sessiongraph.sessions import Sessions

UNSTORED_KEPT = 1000


class RunBook:
    """Run records: storing, reading, results (see the module docstring)."""

    def __init__(self, sessions: Sessions, coordination: Coordination) -> None:
        self.sessions = sessions
        self._lock = coordination.lock
        self._runs = coordination.runs
        self._broker = coordination.broker
        self._coordination = coordination
        self.worker_id = coordination.workers.worker_id
        self._unstored: OrderedDict[str, RunRecord] = OrderedDict()
        """Finished runs whose final record could not be stored: what this process tells about
        them until the store has it."""

    async def _others_active(self, record: RunRecord) -> bool:
        return any(r.run_id != record.run_id for r in await self._runs.active(record.thread_id))

    async def _set_run(self, record: RunRecord, status: RunStatus) -> None:
        record.status = status
        record.updated_at = time.time()
        try:
            await self._runs.put(record)
        except Exception:
            # The store is down or full. A success is stored by the next recovery sweep; any
            # other run stays active in the store, and the sweep finishes it (rolling back).
            if not record.active:
                self._unstored[record.run_id] = record
                while len(self._unstored) > UNSTORED_KEPT:
                    self._unstored.popitem(last=False)
            raise

    # --- reading runs ----------------------------------------------------------------------

    async def get_run(self, thread_id: str, run_id: str) -> RunRecord:
        """The run ``run_id`` of ``thread_id``, or :class:`RunNotFound`."""
        run = self._known(await self._runs.get(run_id), run_id)
        if run is None or run.thread_id != thread_id:
            raise RunNotFound(run_id, thread_id)
        return run

    async def find_run(self, run_id: str) -> RunRecord:
        """The run ``run_id`` whatever its thread (doors that name runs alone), or :class:`RunNotFound`."""
        run = self._known(await self._runs.get(run_id), run_id)
        if run is None:
            raise RunNotFound(run_id)
        return run

    def _known(self, stored: RunRecord | None, run_id: str) -> RunRecord | None:
        """The stored record, or this process's newer one when the store missed its end."""
        local = self._unstored.get(run_id)
        if local is not None and (stored is None or stored.active):
            return local
        return stored

    async def list_runs(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: str | None = None
    ) -> list[RunRecord]:
        """The thread's runs, newest first."""
        return await self._runs.of_thread(thread_id, limit=limit, offset=offset, status=status)

    async def active_runs(self, thread_id: str) -> list[RunRecord]:
        """The thread's pending and running runs, oldest first."""
        return await self._runs.active(thread_id)

    async def last_error(self, thread_id: str) -> dict[str, str] | None:
        """The error of the thread's newest run, if it failed."""
        last = await self._runs.of_thread(thread_id, limit=1)
        return last[0].error if last else None

    async def delete_run(self, run: RunRecord) -> None:
        """Forget a finished run; :class:`RunStillActive` for one that is not over."""
        if run.active:
            raise RunStillActive(run.run_id, run.status)
        await self._runs.delete(run.run_id)

    async def subscribe(self, run_id: str, last_event_id: int | None = None) -> Subscription:
        """The run's events after ``last_event_id`` (``0``: all still buffered; ``None``: live)."""
        return await self._broker.subscribe(run_id, last_event_id)

    async def result(self, record: RunRecord) -> bytes:
        """The ``/wait`` body of a finished run (thread values when the run kept none)."""
        latest = self._known(await self._runs.get(record.run_id), record.run_id) or record
        if latest.active and record.result is not None:
            latest = record  # the store missed the end this process saw
        if latest.result is not None:
            return latest.result
        try:
            return dumps((await self.sessions.get_state(record.thread_id)).values or {})
        except Exception:
            return b"{}"

    async def wait(self, run_id: str, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the run to finish; ``True`` once it has."""
        return await self._broker.wait_closed(run_id, timeout)

    def forget_unstored(self, run_id: str) -> None:
        """Recovery stored the run's end."""
        self._unstored.pop(run_id, None)

    async def store_unsaved(self) -> None:
        """Store the successes whose final record could not be written when they ended."""
        for run_id, record in list(self._unstored.items()):
            if record.status != "success":
                continue
            await self._runs.put(record)
            self._unstored.pop(run_id, None)
            if not await self._others_active(record):
                await self.sessions.settle(record.thread_id)
