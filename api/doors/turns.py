"""Threads and turns for the doors: every door resolves the caller's thread here and starts its
turn through ``RunStarter.start_on`` (:mod:`sessiongraph.api.run_create`), so owners, limits,
multitask rules and bounded sessions are the Agent Server's own."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sessiongraph.api.coordination import RunRecord
from sessiongraph.api.deps import Api
from sessiongraph.api.errors import BadRequest, thread_not_found
from sessiongraph.api.schemas import CommandBody, MultitaskStrategy, RunCreate
from sessiongraph.api.serialize import loads
from sessiongraph.checkpoints import ThreadInfo

STREAM_MODES = ["messages-tuple", "values"]
"""What door runs stream: answer tokens as they come, and the state (its last chunk is the result)."""
WAIT_STEP_S = 30.0


def thread_uuid(value: str, what: str = "thread id") -> str:
    """``value`` as a canonical thread UUID, or a 400 that says so."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise BadRequest(f"{what} {value!r} is not a UUID; use the id of a thread you created") from None


async def caller_thread(api: Api, thread_id: str, *, create: bool = False) -> ThreadInfo:
    """The caller's thread ``thread_id`` (created for them when ``create``), or 404."""
    info = await api.sessions.find_thread(thread_id)
    if info is None and create:
        info = await api.sessions.create_thread(thread_id, owner=api.caller.owner, if_exists="do_nothing")
    if info is None or not api.visible(info):
        raise thread_not_found(thread_id)
    return info


async def new_thread(api: Api, metadata: Mapping[str, Any] | None = None) -> ThreadInfo:
    """A new thread owned by the caller."""
    return await api.sessions.create_thread(metadata=metadata, owner=api.caller.owner)


async def start_turn(
    api: Api,
    info: ThreadInfo,
    *,
    messages: Sequence[Mapping[str, Any]] | None = None,
    resume: Any = None,
    context: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    temporary: bool = False,
    multitask_strategy: MultitaskStrategy = "enqueue",
) -> RunRecord:
    """Start a turn on ``info``: append ``messages``, or (``messages`` is ``None``) resume the
    thread's interrupt with ``resume``."""
    body = RunCreate(
        assistant_id=api.services.assistants.assistant_id,
        input={"messages": list(messages)} if messages is not None else None,
        command=CommandBody(resume=resume) if messages is None else None,
        stream_mode=STREAM_MODES,  # type: ignore[arg-type]
        context=dict(context) if context else None,
        metadata=dict(metadata) if metadata else None,
        multitask_strategy=multitask_strategy,
    )
    return await api.services.runs.start_on(info, body, temporary=temporary, caller_key=api.caller.key)


async def start_on_new_thread(
    api: Api,
    messages: Sequence[Mapping[str, Any]],
    *,
    metadata: Mapping[str, Any] | None = None,
    temporary: bool = False,
) -> RunRecord:
    """A turn on a new thread of the caller's (deleted again if the run is refused)."""
    info = await new_thread(api)
    try:
        return await start_turn(api, info, messages=messages, metadata=metadata, temporary=temporary)
    except BaseException:
        await api.sessions.delete_thread(info.thread_id)
        raise


async def run_values(api: Api, run: RunRecord) -> dict[str, Any]:
    """Wait for ``run`` to finish and return its result: the final state values, with
    ``__interrupt__`` on a pause or ``__error__`` on failure."""
    while not await api.manager.wait(run.run_id, WAIT_STEP_S):
        pass
    result = loads(await api.manager.result(run))
    return result if isinstance(result, dict) else {}


async def pending_interrupt(api: Api, info: ThreadInfo) -> Any | None:
    """The value of the thread's pending ``interrupt()``, or ``None`` when it is not paused."""
    if info.status != "interrupted":
        return None
    state = await api.sessions.get_state(info.thread_id)
    for task in state.tasks:
        for item in task.interrupts:
            return item.value
    return None
