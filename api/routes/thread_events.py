"""The v2 thread protocol: ``POST /threads/{id}/commands`` (JSON in, JSON out) and
``POST /threads/{id}/stream/events`` (SSE, filtered by channel; ``since`` replays)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import Field
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.responses import Response

from sessiongraph.api.deps import ApiDep
from sessiongraph.api.errors import ApiError
from sessiongraph.api.response_models import ERRORS
from sessiongraph.api.responses import JSON
from sessiongraph.api.schemas import _Body
from sessiongraph.api.serialize import dumps
from sessiongraph.api.sse import SEP, heartbeat
from sessiongraph.checkpoints.assistants import AssistantNotFound
from sessiongraph.lifecycle import NoPendingInterrupt

router = APIRouter(prefix="/threads", tags=["threads"], responses=ERRORS)


class ProtocolCommand(_Body):
    """``{"id", "method", "params"}``."""

    id: int | str
    method: str
    params: dict[str, Any] = Field(default_factory=dict)


class EventStreamRequest(_Body):
    """Which channels to receive, and the ``seq`` already seen (``since``)."""

    channels: list[str] = Field(default_factory=list)
    namespaces: list[list[str]] | None = None
    depth: int | None = None
    since: int | None = None


def _error(command_id: int | str, code: str, message: str) -> Response:
    return JSON({"type": "error", "id": command_id, "error": code, "message": message})


@router.post("/{thread_id}/commands", summary="Send a v2 protocol command")
async def commands(api: ApiDep, thread_id: UUID, body: ProtocolCommand) -> Response:
    """``run.start`` (input) and ``input.respond`` (resume an interrupt) start runs."""
    tid = str(thread_id)
    hub = api.services.thread_events
    existing = await api.sessions.find_thread(tid)
    if existing is not None:
        await api.thread(tid)
    try:
        if body.method == "run.start":
            run_id = await hub.start(api.caller.owner, tid, body.params)
        elif body.method == "input.respond":
            resume = {"resume": body.params.get("response")}
            run_id = await hub.start(api.caller.owner, tid, body.params, command=resume)
        else:
            return _error(
                body.id,
                "unknown_command",
                f"{body.method!r} is not supported; use run.start or input.respond",
            )
    except (ApiError, AssistantNotFound, NoPendingInterrupt) as exc:
        return _error(body.id, "invalid_argument", str(getattr(exc, "detail", exc)))
    return JSON(
        {
            "type": "success",
            "id": body.id,
            "result": {"run_id": run_id},
            "meta": {"applied_through_seq": hub.hub(tid).seq},
        }
    )


@router.post("/{thread_id}/stream/events", summary="The thread's v2 events (SSE)")
async def stream_events(api: ApiDep, thread_id: UUID, body: EventStreamRequest) -> Response:
    """Events of the chosen ``channels`` (every one when empty) until the client leaves."""
    tid = str(thread_id)
    if await api.sessions.find_thread(tid) is not None:
        await api.thread(tid)
    wanted = set(body.channels)
    events = api.services.thread_events.hub(tid).listen(body.since, api.services.settings.heartbeat_s)

    async def frames() -> AsyncIterator[ServerSentEvent]:
        async for event in events:
            if event is None:
                continue
            if wanted and not ({event["method"], event["method"].split(".", 1)[0]} & wanted):
                continue
            yield ServerSentEvent(
                data=dumps(event).decode(), event=event["method"], id=str(event["seq"]), sep=SEP
            )

    return EventSourceResponse(
        frames(), ping=api.services.settings.heartbeat_s, ping_message_factory=heartbeat, sep=SEP
    )
