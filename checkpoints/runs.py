"""Run records: what the HTTP run manager remembers of each run, stored by the session backend.

A backend owns its run records like its threads (:attr:`Backend.runs`), so that
``GET /threads/{id}/runs`` and ``runs.get`` survive a restart on durable backends: memory keeps
them in dicts (:class:`MemoryRunRegistry`), SQLite in a table of the session file, Redis in keys
shared by every replica. A new backend stores them by passing its own :class:`RunRegistry` to
:class:`~sessiongraph.checkpoints.base.Backend` (the in-process one is the fallback).

Each record names the ``worker`` (server process) executing it and, once it runs, the thread's
checkpoint before the turn (``started_from``): what crash recovery rolls the thread back to.
"""

from __future__ import annotations

import abc
import base64
import dataclasses
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

RunStatus = Literal["pending", "running", "success", "error", "timeout", "interrupted"]
ACTIVE_STATUSES: frozenset[str] = frozenset({"pending", "running"})


@dataclass
class RunRecord:
    """One run. ``result`` is the encoded JSON body of ``/wait`` and ``/join`` once known."""

    run_id: str
    thread_id: str
    assistant_id: str
    status: RunStatus
    created_at: float
    updated_at: float
    metadata: dict[str, Any]
    kwargs: dict[str, Any]
    multitask_strategy: str
    owner: str | None = None
    temporary: bool = False
    error: dict[str, str] | None = None
    result: bytes | None = None
    worker: str | None = None
    """The server process that admitted and executes the run (a dead one's runs are reclaimed)."""
    started_from: str | None = None
    """The thread's newest checkpoint id when the turn began (``None``: none, or not started)."""

    @property
    def active(self) -> bool:
        """Pending or running."""
        return self.status in ACTIVE_STATUSES


def encode_run(run: RunRecord) -> bytes:
    """A record as JSON bytes (the result base64-encoded)."""
    values = dataclasses.asdict(run)
    values["result"] = None if run.result is None else base64.b64encode(run.result).decode()
    return json.dumps(values, separators=(",", ":"), default=str).encode()


def decode_run(raw: bytes | str) -> RunRecord:
    """The inverse of :func:`encode_run` (fields added later get their defaults)."""
    values = json.loads(raw)
    if values.get("result") is not None:
        values["result"] = base64.b64decode(values["result"])
    known = {f.name for f in dataclasses.fields(RunRecord)}
    return RunRecord(**{k: v for k, v in values.items() if k in known})


class RunRegistry(abc.ABC):
    """Storage of :class:`RunRecord`."""

    async def setup(self) -> None:  # noqa: B027 - optional hook
        """Create tables (idempotent)."""

    @abc.abstractmethod
    async def put(self, run: RunRecord) -> None:
        """Insert or replace a record."""

    @abc.abstractmethod
    async def get(self, run_id: str) -> RunRecord | None:
        """The record, or ``None``."""

    @abc.abstractmethod
    async def of_thread(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: str | None = None
    ) -> list[RunRecord]:
        """The thread's runs, newest first."""

    @abc.abstractmethod
    async def active(self, thread_id: str) -> list[RunRecord]:
        """The thread's pending and running runs, oldest first."""

    @abc.abstractmethod
    async def all_active(self) -> list[RunRecord]:
        """Every pending and running run, of every thread (what crash recovery inspects)."""

    @abc.abstractmethod
    async def delete(self, run_id: str) -> bool:
        """Forget a run; ``False`` if unknown."""

    @abc.abstractmethod
    async def delete_thread(self, thread_id: str) -> None:
        """Forget every run of a thread."""


class MemoryRunRegistry(RunRegistry):
    """Runs in dicts (lost with the process); each thread keeps its newest ``keep_per_thread``
    finished runs."""

    def __init__(self, keep_per_thread: int = 100) -> None:
        self._runs: dict[str, RunRecord] = {}
        self._by_thread: dict[str, OrderedDict[str, None]] = {}
        self._keep = keep_per_thread

    async def put(self, run: RunRecord) -> None:
        """See :meth:`RunRegistry.put`."""
        self._runs[run.run_id] = run
        ids = self._by_thread.setdefault(run.thread_id, OrderedDict())
        ids[run.run_id] = None
        if len(ids) > self._keep:
            for old in list(ids)[: len(ids) - self._keep]:
                if not self._runs[old].active:
                    del ids[old]
                    self._runs.pop(old, None)

    async def get(self, run_id: str) -> RunRecord | None:
        """See :meth:`RunRegistry.get`."""
        return self._runs.get(run_id)

    async def of_thread(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: str | None = None
    ) -> list[RunRecord]:
        """See :meth:`RunRegistry.of_thread`."""
        ids = reversed(self._by_thread.get(thread_id, OrderedDict()))
        runs = [self._runs[i] for i in ids if status is None or self._runs[i].status == status]
        return runs[offset : offset + limit]

    async def active(self, thread_id: str) -> list[RunRecord]:
        """See :meth:`RunRegistry.active`."""
        ids = self._by_thread.get(thread_id, OrderedDict())
        return [self._runs[i] for i in ids if self._runs[i].active]

    async def all_active(self) -> list[RunRecord]:
        """See :meth:`RunRegistry.all_active`."""
        return [run for run in self._runs.values() if run.active]

    async def delete(self, run_id: str) -> bool:
        """See :meth:`RunRegistry.delete`."""
        run = self._runs.pop(run_id, None)
        if run is None:
            return False
        self._by_thread.get(run.thread_id, OrderedDict()).pop(run_id, None)
        return True

    async def delete_thread(self, thread_id: str) -> None:
        """See :meth:`RunRegistry.delete_thread`."""
        for run_id in self._by_thread.pop(thread_id, OrderedDict()):
            self._runs.pop(run_id, None)
