"""Typed API errors and the handlers that turn every failure into ``{"detail": "..."}``.

A caller's mistake is always a 4xx whose ``detail`` says what to fix; a 500 means a bug here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from langgraph.errors import EmptyInputError, InvalidUpdateError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from sessiongraph.api.serialize import dumps
from sessiongraph.checkpoints.registry import ThreadExists, ThreadNotFound

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


class PayloadTooLarge(ApiError):
    """The body exceeds ``max_body_bytes`` (413)."""

    status_code = 413


class Unprocessable(ApiError):
    """The body or a parameter fails validation (422)."""

    status_code = 422


class TooManyRequests(ApiError):
    """The caller's rate limit is spent (429, with ``Retry-After``)."""

    status_code = 429


class Overloaded(ApiError):
    """Too many runs executing and queued (503, with ``Retry-After``)."""

    status_code = 503


def thread_not_found(thread_id: str) -> NotFound:
    """The one 404 for a thread that does not exist or belongs to someone else."""
    return NotFound(f"Thread with ID {thread_id} not found; create it with POST /threads or check the id")


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


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that map exceptions to JSON error responses."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> Response:
        return json_error(exc.status_code, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        return json_error(422, validation_detail(list(exc.errors())))

    @app.exception_handler(ThreadNotFound)
    async def _thread_missing(_: Request, exc: ThreadNotFound) -> Response:
        return json_error(404, thread_not_found(exc.thread_id).detail)

    @app.exception_handler(ThreadExists)
    async def _thread_exists(_: Request, exc: ThreadExists) -> Response:
        return json_error(409, f"Thread with ID {exc.thread_id} already exists; use if_exists='do_nothing'")

    @app.exception_handler(InvalidUpdateError)
    @app.exception_handler(EmptyInputError)
    async def _graph_input(_: Request, exc: Exception) -> Response:
        return json_error(400, f"{type(exc).__name__}: {exc}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        return json_error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return json_error(500, f"internal error ({type(exc).__name__}); see the server log")
