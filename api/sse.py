"""Server-sent events: broker events -> ``event:``/``data:`` frames, heartbeats, and the
``on_disconnect`` policy.

Frames are ``event: <name>\\r\\ndata: <json>\\r\\n[id: <seq>\\r\\n]\\r\\n``; a ``: heartbeat``
comment goes out after every ``heartbeat_s`` of silence. The stream ends when the run's channel
closes, after the final run status is stored, so a client never has to poll for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import anyio
from starlette.responses import StreamingResponse

from sessiongraph.api.coordination import StreamEvent, Subscription
from sessiongraph.api.serialize import dumps

HEARTBEAT = b": heartbeat\r\n\r\n"
SSE_HEADERS = {
    "Cache-Control": "no-store",
    "Connection": "keep-alive",
    "X-Accel-Buffering": "no",
}


def frame(event: StreamEvent, *, with_id: bool) -> bytes:
    """One SSE frame."""
    head = b"event: " + event.event.encode() + b"\r\ndata: " + event.data + b"\r\n"
    if with_id:
        head += b"id: " + str(event.seq).encode() + b"\r\n"
    return head + b"\r\n"


def error_frame(error: str, message: str) -> bytes:
    """An ``error`` event frame built without a broker (e.g. joining an unknown run)."""
    return b"event: error\r\ndata: " + dumps({"error": error, "message": message}) + b"\r\n\r\n"


async def _frames(
    subscription: Subscription,
    *,
    with_ids: bool,
    modes: frozenset[str] | None,
    on_disconnect: Callable[[], Awaitable[None]] | None,
) -> AsyncIterator[bytes]:
    finished = False
    try:
        async for item in subscription:
            if item is None:
                yield HEARTBEAT
            elif modes is None or _wanted(item.event, modes):
                yield frame(item, with_id=with_ids)
        finished = True
    finally:
        # Starlette cancels this generator when the client leaves; shield the clean-up from it.
        with anyio.CancelScope(shield=True):
            await subscription.aclose()
            if not finished and on_disconnect is not None:
                await on_disconnect()


def _wanted(event: str, modes: frozenset[str]) -> bool:
    """Join-stream filter: ``mode`` matches ``mode|ns``; any ``messages*`` matches the messages modes."""
    if event in ("metadata", "error", "end"):
        return True
    base = event.split("|", 1)[0]
    if base.startswith("messages"):
        return bool(modes & {"messages", "messages-tuple"})
    return base in modes


def sse_response(
    subscription: Subscription,
    *,
    with_ids: bool = False,
    modes: frozenset[str] | None = None,
    on_disconnect: Callable[[], Awaitable[None]] | None = None,
    headers: Mapping[str, str] | None = None,
    prefix: bytes = b"",
) -> StreamingResponse:
    """A ``text/event-stream`` response over ``subscription``.

    ``on_disconnect`` runs when the client goes away before the run ends (Starlette cancels the
    body iterator on ``http.disconnect``).
    """

    async def body() -> AsyncIterator[bytes]:
        if prefix:
            yield prefix
        async for chunk in _frames(subscription, with_ids=with_ids, modes=modes, on_disconnect=on_disconnect):
            yield chunk

    return StreamingResponse(
        body(),
        media_type="text/event-stream; charset=utf-8",
        headers={**SSE_HEADERS, **(headers or {})},
    )
