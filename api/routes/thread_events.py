"""The v2 thread protocol: ``POST /threads/{id}/commands`` (JSON in, JSON out), and the thread's
events over SSE (``POST /threads/{id}/stream/events``) or a WebSocket (the same path: the first
frame is a ``subscription.subscribe`` command), filtered by channel; ``since`` replays."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import Field
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.responses import Response

from sessiongraph.api.auth import authenticate
from sessiongraph.api.deps import ApiDep, Services
from sessiongraph.api.errors import ApiError
from sessiongraph.api.response_models import ERRORS, SSE
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


def _wanted(event: dict[str, Any], channels: set[str]) -> bool:
    """An empty channel list wants everything; ``input`` covers ``input.requested``."""
    return not channels or bool({event["method"], event["method"].split(".", 1)[0]} & channels)


@router.post("/{thread_id}/stream/events", summary="The thread's v2 events (SSE)", responses=SSE)
async def stream_events(api: ApiDep, thread_id: UUID, body: EventStreamRequest) -> Response:
    """Events of the chosen ``channels`` (every one when empty) until the client leaves."""
    tid = str(thread_id)
    if await api.sessions.find_thread(tid) is not None:
        await api.thread(tid)
    wanted = set(body.channels)
    events = api.services.thread_events.hub(tid).listen(body.since, api.services.settings.heartbeat_s)

    async def frames() -> AsyncIterator[ServerSentEvent]:
        async for event in events:
            if event is not None and _wanted(event, wanted):
                data = dumps(event).decode()
                yield ServerSentEvent(data=data, event=event["method"], id=str(event["seq"]), sep=SEP)

    heartbeat_s = api.services.settings.heartbeat_s
    return EventSourceResponse(frames(), ping=heartbeat_s, ping_message_factory=heartbeat, sep=SEP)


@router.websocket("/{thread_id}/stream/events")
async def stream_events_ws(websocket: WebSocket, thread_id: UUID) -> None:
    """The same events over a WebSocket: send ``{"id", "method": "subscription.subscribe",
    "params": {"channels", "since"}}`` first, then receive one JSON event per frame."""
    svc: Services = websocket.app.state.services
    try:
        caller = authenticate(websocket, svc.settings.api_keys)
    except ApiError as exc:
        await websocket.close(code=4401, reason=exc.detail)
        return
    tid = str(thread_id)
    info = await svc.sessions.find_thread(tid)
    if info is not None and caller.owner is not None and info.owner != caller.owner:
        await websocket.close(code=4404, reason=f"Thread with ID {tid} not found")
        return
    await websocket.accept()
    try:
        command = ProtocolCommand.model_validate(await websocket.receive_json())
        if command.method != "subscription.subscribe":
            await websocket.send_text(
                dumps({"type": "error", "id": command.id, "error": "invalid_argument",
                       "message": "the first frame must be a subscription.subscribe command"}).decode()
            )  # fmt: skip
            await websocket.close(code=1008)
            return
        request = EventStreamRequest.model_validate(command.params)
        await websocket.send_text(dumps({"type": "success", "id": command.id, "result": {}}).decode())
        wanted = set(request.channels)
        async for event in svc.thread_events.hub(tid).listen(request.since, svc.settings.heartbeat_s):
            if event is not None and _wanted(event, wanted):
                await websocket.send_text(dumps(event).decode())
    except WebSocketDisconnect:
        return
