"""The WebSocket door: ``WS /threads/{thread_id}/ws`` (see :mod:`sessiongraph.api.doors.socket_session`).

The handshake authenticates (API key -> owner; failures count per client address), counts
against the rate limit and checks the
thread is the caller's; a refusal is an HTTP error response (401, 404, 429) before any upgrade.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, WebSocket

from sessiongraph.api.deps import Api, Services, authenticated
from sessiongraph.api.doors.socket_session import SocketSession
from sessiongraph.api.errors import ApiError
from sessiongraph.api.responses import JSON

router = APIRouter(tags=["threads"])


@router.websocket("/threads/{thread_id}/ws")
async def thread_socket(socket: WebSocket, thread_id: UUID) -> None:
    """Runs on the thread over one connection: commands in, the runs' stream events out."""
    services: Services = socket.app.state.services
    try:
        caller = await authenticated(socket, services)
        await services.limiter.hit(caller.key)
        api = Api(services, caller)
        info = await api.thread(str(thread_id))
    except ApiError as exc:
        await socket.send_denial_response(JSON({"detail": exc.detail}, exc.status_code, headers=exc.headers))
        return
    await socket.accept()
    await SocketSession(api, socket, info.thread_id).serve()
