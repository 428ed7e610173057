"""What can go wrong with a run, as domain errors (no HTTP here).

:mod:`sessiongraph.api.errors` maps each to its HTTP status in one table.
"""

from __future__ import annotations


class RunError(Exception):
    """Base class of run errors; the message says what the caller can do."""


class ThreadBusy(RunError):
    """The thread runs something and the multitask strategy is ``reject``."""

    def __init__(self, thread_id: str) -> None:
        super().__init__(
            f"Thread {thread_id} is already running a task. Wait for it to finish or choose a different "
            "multitask strategy (enqueue, interrupt or rollback)."
        )
        self.thread_id = thread_id


class RunCapacityExceeded(RunError):
    """Every run slot and the waiting room are taken; retry shortly."""

    retry_after_s = 1

    def __init__(self, detail: str = "Too many runs are executing or queued; retry shortly") -> None:
        super().__init__(detail)


class RunNotFound(RunError):
    """No such run on that thread (or not one the caller may see)."""

    def __init__(self, run_id: str, thread_id: str | None = None) -> None:
        where = f" on thread {thread_id}" if thread_id else ""
        super().__init__(f"Run {run_id} not found{where}")
        self.run_id = run_id


class RunNotActive(RunError):
    """A cancel of a run that is over already."""

    def __init__(self, run_id: str, status: str) -> None:
        super().__init__(f"No matching runs to cancel: run {run_id} is already {status}")


class RunStillActive(RunError):
    """A delete of a run that has not finished."""

    def __init__(self, run_id: str, status: str) -> None:
        super().__init__(f"run {run_id} is {status}; cancel it before deleting it")


class CheckpointNotFound(RunError):
    """A run or state read names a checkpoint the thread does not have."""

    def __init__(self, checkpoint_id: str, thread_id: str) -> None:
        super().__init__(
            f"checkpoint {checkpoint_id} not found in thread {thread_id}; pick one from its history"
        )
