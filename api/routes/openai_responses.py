"""The Responses API door: ``POST /v1/responses`` (plain or streamed) and ``GET /v1/responses/{id}``.

A response is a run (``resp_<run id>``) and a conversation is a thread. ``conversation`` appends
the input to that thread; ``previous_response_id`` continues the thread of that response (the
newest state of the thread, which is the same unless someone else moved it on); neither starts a
new thread, kept unless ``store: false``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import APIRouter
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.responses import Response

from sessiongraph.api.coordination import RunRecord
from sessiongraph.api.deps import Api, ApiDep
from sessiongraph.api.doors.openai_common import graph_message, reject_unsupported, resolve_model
from sessiongraph.api.doors.openai_errors import OpenAIError
from sessiongraph.api.doors.openai_schemas import ResponseCreate
from sessiongraph.api.doors.responses_objects import ResponseView, run_id_of
from sessiongraph.api.doors.run_text import end_of, text_events
from sessiongraph.api.doors.turns import (
    caller_thread,
    run_values,
    start_on_new_thread,
    start_turn,
    thread_uuid,
)
from sessiongraph.api.responses import JSON
from sessiongraph.api.run_errors import RunNotFound
from sessiongraph.api.serialize import dumps, loads
from sessiongraph.checkpoints import ThreadInfo

router = APIRouter(prefix="/v1", tags=["openai"])


def _input_messages(raw: str | list[dict[str, Any]]) -> list[dict[str, str]]:
    if isinstance(raw, str):
        return [{"role": "user", "content": raw}]
    messages = []
    for i, item in enumerate(raw):
        if item.get("type", "message") != "message" or "role" not in item:
            raise OpenAIError(400, f"input[{i}]: only message items are supported", param=f"input[{i}]")
        messages.append(graph_message(item["role"], item.get("content"), f"input[{i}]"))
    return messages


async def find_response(api: Api, response: str) -> RunRecord:
    """The caller's run behind a response id, or OpenAI's 404."""
    try:
        run = await api.manager.find_run(run_id_of(response))
    except RunNotFound:
        run = None
    if run is None or (api.caller.owner is not None and run.owner != api.caller.owner):
        raise OpenAIError(404, f"Response with id '{response}' not found.", param="response_id")
    return run


UNSUPPORTED = {
    "tools": "the agent calls its own tools",
    "instructions": "the agent has its own system prompt; put guidance in the input",
    "text": "the agent answers in plain text",
}


async def _existing_thread(api: Api, body: ResponseCreate) -> ThreadInfo | None:
    """The thread named by ``conversation`` or ``previous_response_id`` (``None``: a new one)."""
    conversation = body.conversation_id
    if conversation and body.previous_response_id:
        raise OpenAIError(
            400, "send either conversation or previous_response_id, not both", param="conversation"
        )
    if conversation:
        return await caller_thread(api, thread_uuid(conversation, "conversation"))
    if body.previous_response_id:
        previous = await find_response(api, body.previous_response_id)
        return await caller_thread(api, previous.thread_id)
    return None


@router.post("/responses", summary="Create a response (plain or streamed)")
async def create_response(api: ApiDep, body: ResponseCreate) -> Response:
    """Run a turn with ``input`` and answer with the ``response``; ``stream: true`` sends its events."""
    resolve_model(api, body.model)
    reject_unsupported(body, UNSUPPORTED)
    messages = _input_messages(body.input)
    info = await _existing_thread(api, body)
    metadata: dict[str, Any] = {"model": body.model, "door": "openai.responses"}
    if body.previous_response_id:
        metadata["previous_response_id"] = body.previous_response_id
    if body.metadata:
        metadata["openai_metadata"] = body.metadata
    if info is None:
        run = await start_on_new_thread(api, messages, metadata=metadata, temporary=not body.store)
    else:
        run = await start_turn(api, info, messages=messages, metadata=metadata)
    view = ResponseView(run)
    if not body.stream:
        return JSON(view.body(end_of(await run_values(api, run))))
    subscription = await api.manager.subscribe(run.run_id, 0)

    async def frames() -> AsyncIterator[ServerSentEvent]:
        done = False
        try:
            async for event in view.events(text_events(subscription)):
                yield ServerSentEvent(data=dumps(event).decode(), event=event["type"])
            done = True
        finally:
            if not done:  # the client went away: stop the run
                with anyio.CancelScope(shield=True):
                    await api.manager.cancel(run, "interrupt")

    return EventSourceResponse(frames(), ping=api.services.settings.heartbeat_s)


@router.get("/responses/{response_id}", summary="Get a response")
async def get_response(api: ApiDep, response_id: str) -> Response:
    """The response as it is now (``in_progress`` while its run goes on)."""
    run = await find_response(api, response_id)
    if run.active:
        return JSON(ResponseView(run).body(None))
    result = loads(await api.manager.result(run))
    return JSON(ResponseView(run).body(end_of(result if isinstance(result, dict) else {})))
