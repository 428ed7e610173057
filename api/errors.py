"""Typed API errors, the one table mapping domain errors to HTTP, and the handlers that turn
every failure into ``{"detail": "..."}``.

A caller's mistake is always a 4xx whose ``detail`` says what to fix; a 500 means a bug here.
Layers below HTTP (the session facade, the run manager) raise domain errors only;
:data:`DOMAIN_ERRORS` gives each its status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from langgraph.errors import EmptyInputError, InvalidUpdateError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from sessiongraph.api.run_errors import (
    CheckpointNotFound,
    RunCapacityExceeded,
    RunNotActive,
    RunNotFound,
    RunStillActive,
    ThreadBusy,
)
from sessiongraph.api.serialize import dumps
from sessiongraph.checkpoints import ThreadExists, ThreadNotFound
from sessiongraph.checkpoints.assistants import AssistantExists, AssistantNotFound
from sessiongraph.checkpoints.crons import CronNotFound, InvalidSchedule
from sessiongraph.lifecycle import NoPendingInterrupt

log = logging.getLogger("sessiongraph.api")


class ApiError(Exception):
    """An error with an HTTP status and a message for the caller."""

    status_code = 400

    def __init__(self, detail: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})


class BadRequest(ApiError):
    """The request is well-formed but cannot be carried out as asked (400)."""

    status_code = 400


class Unauthorized(ApiError):
    """No API key, or an unknown one (401)."""

    status_code = 401


class NotFound(ApiError):
    """No such resource, or not one the caller may see (404)."""

    status_code = 404


class Conflict(ApiError):
    """The resource is in a state that forbids the request, e.g. a busy thread (409)."""

    status_code = 409


class Unprocessable(ApiError):
    """The body or a parameter fails validation (422)."""

    status_code = 422


class TooManyRequests(ApiError):
    """The caller's rate limit is spent (429, with ``Retry-After``)."""

    status_code = 429


DOMAIN_ERRORS: dict[type[Exception], int] = {
    ThreadNotFound: 404,
    ThreadExists: 409,
    ThreadBusy: 409,
    NoPendingInterrupt: 400,
    CheckpointNotFound: 404,
    RunNotFound: 404,
    RunNotActive: 404,
    RunStillActive: 422,
    RunCapacityExceeded: 503,
    InvalidUpdateError: 400,
    EmptyInputError: 400,
    AssistantNotFound: 404,
    AssistantExists: 409,
    CronNotFound: 404,
    InvalidSchedule: 422,
}
"""Domain error -> HTTP status. The detail is the error's message (see :func:`domain_detail`)."""


def domain_detail(exc: Exception) -> str:
    """The ``detail`` of a domain error: its message, in the reference server's words where
    clients match on them."""
    if isinstance(exc, ThreadNotFound):
        return thread_not_found(exc.thread_id).detail
    if isinstance(exc, ThreadExists):
        return thread_exists(exc.thread_id).detail
    if isinstance(exc, NoPendingInterrupt):
        return (
            f"thread {exc.thread_id} has no pending interrupt, so command.resume has nothing to resume; "
            "send input instead"
        )
    if isinstance(exc, InvalidUpdateError | EmptyInputError):
        return f"{type(exc).__name__}: {exc}"
    return str(exc)


def domain_headers(exc: Exception) -> dict[str, str]:
    """Extra headers of a domain error (``Retry-After`` when retrying later helps)."""
    if isinstance(exc, RunCapacityExceeded):
        return {"Retry-After": str(exc.retry_after_s)}
    return {}


def thread_not_found(thread_id: str) -> NotFound:
    """The one 404 for a thread that does not exist or belongs to someone else."""
    return NotFound(f"Thread with ID {thread_id} not found; create it with POST /threads or check the id")


def thread_exists(thread_id: str) -> Conflict:
    """The one 409 for a taken thread id, the same whoever owns the thread (reference wording)."""
    return Conflict(f"Thread with ID {thread_id} already exists")


def json_error(status: int, detail: str, headers: Mapping[str, str] | None = None) -> Response:
    """A ``{"detail": ...}`` response."""
    return Response(
        dumps({"detail": detail}), status, headers=dict(headers or {}), media_type="application/json"
    )


def validation_detail(errors: list[Any]) -> str:
    """Pydantic/FastAPI validation errors as one readable sentence per problem."""
    parts = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body" or len(err.get("loc", ())) == 1)
        if err.get("type") == "json_invalid":
            parts.append("Invalid JSON in request body: send a JSON object")
            continue
        parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


ErrorShape = Callable[[int, str, Exception], tuple[int, Any]]
"""A door's own error body: (status, detail, exception) -> (status, JSON body)."""


def shaped_error(
    path: str,
    exc: Exception,
    status: int,
    detail: str,
    headers: Mapping[str, str] | None = None,
    shapes: Mapping[str, ErrorShape] | None = None,
) -> Response:
    """The error response for ``path``: a door's own shape (``shapes`` by path prefix) or ``{"detail"}``."""
    for prefix, shape in (shapes or {}).items():
        if path.startswith(prefix):
            status, body = shape(status, detail, exc)
            return Response(dumps(body), status, headers=dict(headers or {}), media_type="application/json")
    return json_error(status, detail, headers)


def install_error_handlers(app: FastAPI, shapes: Mapping[str, ErrorShape] | None = None) -> None:
    """Register the handlers that map exceptions to JSON error responses.

    ``shapes`` maps a path prefix to the error body clients of that door expect (e.g. OpenAI's
    ``{"error": {...}}`` under ``/v1/``); elsewhere errors are ``{"detail": ...}``.
    """

    def respond(request: Request, exc: Exception, status: int, detail: str, headers: Any = None) -> Response:
        return shaped_error(request.url.path, exc, status, detail, headers, shapes)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return respond(request, exc, exc.status_code, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return respond(request, exc, 422, validation_detail(list(exc.errors())))

    async def _domain(request: Request, exc: Exception) -> Response:
        return respond(request, exc, DOMAIN_ERRORS[type(exc)], domain_detail(exc), domain_headers(exc))

    for error_type in DOMAIN_ERRORS:
        app.add_exception_handler(error_type, _domain)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return respond(request, exc, exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    # Anything else: UnhandledErrorMiddleware (api/middleware.py) answers 500 and keeps the connection.
