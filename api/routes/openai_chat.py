"""The OpenAI-compatible door: ``GET /v1/models`` and ``POST /v1/chat/completions``.

Stateless by default, as OpenAI clients expect: the request's messages are the conversation, run
on a temporary thread. Naming a thread (``X-Thread-Id`` header or ``metadata.thread_id``) makes it
stateful: only the newest user message is appended to that thread (created for the caller if
new). Either way the turn goes through the run manager like any Agent Server run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Header
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.responses import Response

from sessiongraph.api.coordination import RunRecord
from sessiongraph.api.deps import Api, ApiDep
from sessiongraph.api.doors.chat_completions import Completion
from sessiongraph.api.doors.openai_common import graph_messages, model_ids, reject_unsupported, resolve_model
from sessiongraph.api.doors.openai_errors import OpenAIError
from sessiongraph.api.doors.openai_schemas import ChatCompletionCreate
from sessiongraph.api.doors.run_text import end_of, text_events
from sessiongraph.api.doors.turns import (
    caller_thread,
    run_values,
    start_on_new_thread,
    start_turn,
    thread_uuid,
)
from sessiongraph.api.responses import JSON
from sessiongraph.api.serialize import dumps

router = APIRouter(prefix="/v1", tags=["openai"])


@router.get("/models", summary="The assistants, as OpenAI models")
async def list_models(api: ApiDep) -> Response:
    """``{"object": "list", "data": [model, ...]}``: the graph id and the assistant id."""
    return JSON({"object": "list", "data": [_model(api, m) for m in model_ids(api)]})


@router.get("/models/{model}", summary="One model")
async def get_model(api: ApiDep, model: str) -> Response:
    """The model, or OpenAI's 404."""
    resolve_model(api, model)
    return JSON(_model(api, model))


def _model(api: Api, model_id: str) -> dict[str, object]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": "sessiongraph"}


UNSUPPORTED = {
    "tools": "the agent calls its own tools (see GET /v1/models and the A2A card's skills)",
    "functions": "the agent calls its own tools",
    "n": "one choice per request",
    "response_format": "the agent answers in text",
}


async def _start(api: Api, body: ChatCompletionCreate, thread_id: str | None) -> RunRecord:
    resolve_model(api, body.model)
    reject_unsupported(body, UNSUPPORTED)
    messages = graph_messages(((m.role, m.content) for m in body.messages), "messages")
    metadata = {"door": "openai.chat", "model": body.model}
    if thread_id is None:
        return await start_on_new_thread(api, messages, metadata=metadata, temporary=True)
    users = [m for m in messages if m["role"] == "user"]
    if not users:
        raise OpenAIError(400, "a chat on a thread needs a user message to append", param="messages")
    info = await caller_thread(api, thread_uuid(thread_id), create=True)
    return await start_turn(api, info, messages=users[-1:], metadata=metadata)


@router.post("/chat/completions", summary="Chat completion (plain or streamed)")
async def chat_completions(
    api: ApiDep,
    body: ChatCompletionCreate,
    x_thread_id: Annotated[str | None, Header()] = None,
) -> Response:
    """A completion of the conversation; ``stream: true`` answers with ``chat.completion.chunk``
    frames ending with ``data: [DONE]``."""
    thread_id = x_thread_id or (body.metadata or {}).get("thread_id")
    run = await _start(api, body, thread_id)
    headers = {"X-Thread-Id": run.thread_id} if thread_id else {}
    completion = Completion(run.run_id, body.model)
    if not body.stream:
        end = end_of(await run_values(api, run))
        if end.outcome == "failed":
            raise OpenAIError(500, f"the run failed: {end.text}")
        return JSON(completion.final(end), headers=headers)
    subscription = await api.manager.subscribe(run.run_id, 0)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    async def frames() -> AsyncIterator[ServerSentEvent]:
        done = False
        try:
            async for chunk in completion.chunks(text_events(subscription), include_usage=include_usage):
                yield ServerSentEvent(data=dumps(chunk).decode())
            yield ServerSentEvent(data="[DONE]")
            done = True
        finally:
            if not done:  # the client closed the stream: stop generating, as OpenAI does
                with anyio.CancelScope(shield=True):
                    await api.manager.cancel(run, "interrupt")

    return EventSourceResponse(frames(), headers=headers, ping=api.services.settings.heartbeat_s)
