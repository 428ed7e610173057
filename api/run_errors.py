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


class ServerDraining(RunError):
    """The server is shutting down (SIGTERM): it finishes the runs it has and admits no more."""

    retry_after_s = 5

    def __init__(self) -> None:
        super().__init__("The server is shutting down and admits no new runs; retry shortly")


class ServerStopped(RunError):
    """A run the server stopped on shutdown (its checkpoints rolled back); send it again."""

    def __init__(self, started: bool) -> None:
        what = (
            "before it finished; the thread was rolled back to its state before the run"
            if started
            else "before it started"
        )
        super().__init__(f"The server shut down {what}. Send the run again.")


class RunAbandoned(RunError):
    """A run whose server process died (crash, kill, lost lease), found by recovery."""

    def __init__(self, started: bool) -> None:
        what = (
            "while it ran; the thread was rolled back to its state before the run"
            if started
            else "before it started"
        )
        super().__init__(f"The server process executing this run stopped {what}. Send the run again.")
