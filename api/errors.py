"""Typed API errors, the one table mapping domain errors to HTTP, and the handlers that turn
every failure into ``{"detail": "..."}``.

A caller's mistake is always a 4xx whose ``detail`` says what to fix; a 500 means a bug here.
Layers below HTTP (the session facade, the run manager) raise domain errors only;
:data:`DOMAIN_ERRORS` gives each its status.
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

from sessiongraph.api.run_errors import (
    CheckpointNotFound,
    RunCapacityExceeded,
    RunNotActive,
    RunNotFound,
    RunStillActive,
    ServerDraining,
    ThreadBusy,
)
from sessiongraph.api.serialize import dumps
from sessiongraph.checkpoints import ThreadExists, ThreadNotFound
from sessiongraph.checkpoints.errors import STORE_EXCEPTIONS, StorageFull, StoreUnavailable, store_error
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
    ServerDraining: 503,
    StoreUnavailable: 503,
    StorageFull: 507,
    InvalidUpdateError: 400,
    EmptyInputError: 400,
}
"""Domain error -> HTTP status. The detail is the error's message (see :func:`domain_detail`)."""


def domain_detail(exc: Exception) -> str:
    """The ``detail`` of a domain error: its message, in the reference server's words where
    clients match on them."""
    if isinstance(exc, ThreadNotFound):
        return thread_not_found(exc.thread_id).detail
    if isinstance(exc, ThreadExists):
        return f"Thread with ID {exc.thread_id} already exists; use if_exists='do_nothing'"
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
    if isinstance(exc, RunCapacityExceeded | ServerDraining | StoreUnavailable | StorageFull):
        return {"Retry-After": str(exc.retry_after_s)}
    return {}


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

    async def _domain(_: Request, exc: Exception) -> Response:
        return json_error(DOMAIN_ERRORS[type(exc)], domain_detail(exc), domain_headers(exc))

    for error_type in DOMAIN_ERRORS:
        app.add_exception_handler(error_type, _domain)

    async def _store(request: Request, exc: Exception) -> Response:
        # Handled here rather than by the catch-all, which re-raises after answering and so
        # costs the client its keep-alive connection.
        failure = store_error(exc)
        if failure is None:
            log.error("store error on %s %s", request.method, request.url.path, exc_info=exc)
            return json_error(500, f"internal error ({type(exc).__name__}); see the server log")
        log.warning("%s %s: %s", request.method, request.url.path, failure)
        return await _domain(request, failure)

    for error_type in STORE_EXCEPTIONS:
        app.add_exception_handler(error_type, _store)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        return json_error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        failure = store_error(exc)
        if failure is not None and type(failure) in DOMAIN_ERRORS:
            log.warning("%s %s: %s", request.method, request.url.path, failure)
            return await _domain(request, failure)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return json_error(500, f"internal error ({type(exc).__name__}); see the server log")
