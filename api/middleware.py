"""Pure ASGI middleware: JSON bodies sent as ``text/plain`` (LangGraph Studio), the body cap, and the
last-resort 500 that keeps the connection usable."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sessiongraph.api.errors import ErrorShape, json_error, shaped_error

log = logging.getLogger("sessiongraph.api")

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodyMiddleware:
    """Treat non-JSON content types of bodies as JSON and refuse bodies over ``max_bytes`` (413)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, fix the content type, count the bytes actually received."""
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = []
        declared = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = True
                if not value.isdigit() or int(value) > self.max_bytes:
                    await json_error(413, self._detail())(scope, receive, send)
                    return
            if name == b"content-type" and not value.startswith((b"application/json", b"multipart/")):
                value = b"application/json"
            headers.append((name, value))
        scope["headers"] = headers
        if declared:
            await self.app(scope, receive, send)
            return
        # No Content-Length (chunked): read the body up to the cap first, then replay it.
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await json_error(413, self._detail())(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _detail(self) -> str:
        return f"request body larger than {self.max_bytes} bytes; send a smaller body"


class UnhandledErrorMiddleware:
    """Turn an exception no handler took into a logged 500 ``{"detail"}``, and keep the connection.

    Starlette's own last-resort handler re-raises after answering, and uvicorn then closes the
    connection, so the client's next request on that keep-alive connection fails too. Here the
    error is logged (``unhandled error on ...``, with the traceback) and answered, and the server
    carries on. An error after the response started cannot be answered: it propagates.
    """

    def __init__(self, app: ASGIApp, shapes: Mapping[str, ErrorShape] | None = None) -> None:
        self.app = app
        self.shapes = shapes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; answer 500 if it raised before starting a response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:
                raise
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            detail = f"internal error ({type(exc).__name__}); see the server log"
            answer = shaped_error(scope["path"], exc, 500, detail, shapes=self.shapes)
            await answer(scope, receive, send)
