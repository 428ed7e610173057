"""Runs as A2A tasks: a task is a run (``id`` = run id), its ``contextId`` is the thread; a pause
at ``interrupt()`` is ``input-required``, a cancelled run ``canceled``, a failed one ``failed``."""

from __future__ import annotations

from typing import Any

from a2a.types import Artifact, Message, Part, Role, Task, TaskArtifactUpdateEvent, TaskState, TaskStatus
from a2a.types import TaskStatusUpdateEvent as StatusEvent
from google.protobuf.json_format import MessageToDict
from google.protobuf.struct_pb2 import Struct

from sessiongraph.api.coordination import RunRecord
from sessiongraph.api.doors.run_text import RunEnd, end_of

_STATES = {
    "completed": TaskState.TASK_STATE_COMPLETED,
    "paused": TaskState.TASK_STATE_INPUT_REQUIRED,
    "failed": TaskState.TASK_STATE_FAILED,
    "cancelled": TaskState.TASK_STATE_CANCELED,
}


def struct_dict(value: Struct) -> dict[str, Any]:
    """A protobuf ``Struct`` (A2A ``metadata``) as a dict."""
    return MessageToDict(value)


def run_end(run: RunRecord, result: dict[str, Any]) -> RunEnd:
    """How a finished run ended (a cancelled run's result holds the state it reached)."""
    if run.status == "interrupted":
        return RunEnd("cancelled", result)
    return end_of(result)


def agent_message(run: RunRecord, text: str) -> Message:
    """A message from the agent within the run's task."""
    return Message(
        message_id=f"{run.run_id}-status",
        context_id=run.thread_id,
        task_id=run.run_id,
        role=Role.ROLE_AGENT,
        parts=[Part(text=text)],
    )


def answer_artifact(run: RunRecord, text: str) -> Artifact:
    """The answer of the run (one artifact per task)."""
    return Artifact(artifact_id=f"{run.run_id}-answer", name="answer", parts=[Part(text=text)])


def task_status(run: RunRecord, end: RunEnd | None) -> TaskStatus:
    """The task's status: submitted/working while the run goes on, else how it ended (with the
    question of a pause, or the error, as the status message)."""
    if end is None:
        state = TaskState.TASK_STATE_SUBMITTED if run.status == "pending" else TaskState.TASK_STATE_WORKING
        return TaskStatus(state=state)
    status = TaskStatus(state=_STATES[end.outcome])
    if end.outcome in ("paused", "failed"):
        status.message.CopyFrom(agent_message(run, end.text))
    return status


def run_task(run: RunRecord, end: RunEnd | None, request: Message | None = None) -> Task:
    """The task of ``run`` (``end`` is ``None`` while it runs)."""
    task = Task(id=run.run_id, context_id=run.thread_id, status=task_status(run, end))
    if end is not None and end.outcome == "completed":
        task.artifacts.append(answer_artifact(run, end.text))
    if request is not None:
        task.history.append(request)
    return task


def status_event(run: RunRecord, end: RunEnd) -> StatusEvent:
    """The final status update of a streamed task."""
    return StatusEvent(task_id=run.run_id, context_id=run.thread_id, status=task_status(run, end))


def chunk_event(run: RunRecord, text: str, *, append: bool, last: bool) -> TaskArtifactUpdateEvent:
    """A piece of the streamed answer."""
    return TaskArtifactUpdateEvent(
        task_id=run.run_id,
        context_id=run.thread_id,
        artifact=answer_artifact(run, text),
        append=append,
        last_chunk=last,
    )
