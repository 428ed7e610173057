"""Server-sent events: broker events -> SSE frames (through ``sse-starlette``), heartbeats, and the
``on_disconnect`` policy.

Frames are ``[id: <seq>]`` / ``event: <name>`` / ``data: <json>`` lines separated by ``\\r\\n``;
a ``: heartbeat`` comment goes out every ``heartbeat_s``. The stream ends when the run's channel
closes, after the final run status is stored, so a client never has to poll for it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import anyio
from sse_starlette import EventSourceResponse, ServerSentEvent

from sessiongraph.api.coordination import StreamEvent, Subscription
from sessiongraph.api.serialize import dumps
from sessiongraph.checkpoints.errors import store_error

log = logging.getLogger("sessiongraph.api.sse")

SEP = "\r\n"


def heartbeat() -> ServerSentEvent:
    """The keep-alive comment sent while a run is quiet."""
    return ServerSentEvent(comment="heartbeat", sep=SEP)


def to_sse(event: StreamEvent, *, with_id: bool) -> ServerSentEvent:
    """One broker event as an SSE event (JSON payloads are single-line, so one ``data:`` line)."""
    event_id = str(event.seq) if with_id and event.seq else None
    return ServerSentEvent(data=event.data.decode(), event=event.event, id=event_id, sep=SEP)


def error_event(error: str, message: str) -> ServerSentEvent:
    """An ``error`` event built without a broker (e.g. joining an unknown run)."""
    return ServerSentEvent(data=dumps({"error": error, "message": message}).decode(), event="error", sep=SEP)


async def _events(
    subscription: Subscription,
    *,
    with_ids: bool,
    modes: frozenset[str] | None,
    on_disconnect: Callable[[], Awaitable[None]] | None,
) -> AsyncIterator[ServerSentEvent]:
    finished = False
    try:
        try:
            async for item in subscription:
                # ``None`` marks the broker's quiet intervals; sse-starlette sends the heartbeats.
                if item is not None and (modes is None or _wanted(item.event, modes)):
                    yield to_sse(item, with_id=with_ids)
        except Exception as exc:
            # The broker failed (its store went away): end with an ``error`` event, never a cut.
            failure = store_error(exc) or exc
            log.warning("stream ended by %r", failure)
            yield error_event(type(failure).__name__, str(failure))
        finished = True
    finally:
        # The response cancels this generator when the client leaves; shield the clean-up from it.
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
    heartbeat_s: float,
    with_ids: bool = False,
    modes: frozenset[str] | None = None,
    on_disconnect: Callable[[], Awaitable[None]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> EventSourceResponse:
    """A ``text/event-stream`` response over ``subscription``.

    ``on_disconnect`` runs when the client goes away before the run ends (the response cancels
    the event generator on ``http.disconnect``).
    """
    return EventSourceResponse(
        _events(subscription, with_ids=with_ids, modes=modes, on_disconnect=on_disconnect),
        headers=dict(headers or {}),
        ping=heartbeat_s,
        ping_message_factory=heartbeat,
        sep=SEP,
    )


def error_response(error: str, message: str) -> EventSourceResponse:
    """A one-event stream carrying an ``error`` (the protocol answers stream joins this way)."""

    async def one() -> AsyncIterator[ServerSentEvent]:
        yield error_event(error, message)

    return EventSourceResponse(one(), sep=SEP)
