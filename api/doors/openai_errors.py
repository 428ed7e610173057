"""OpenAI's error shape for the ``/v1/`` door: ``{"error": {"message", "type", "param", "code"}}``.

The ``openai`` SDK picks its exception class from the status (``NotFoundError`` for 404, ...) and
reads the message from this body. Validation errors are 400 there, not 422.
"""

from __future__ import annotations

from typing import Any

from sessiongraph.api.errors import ApiError

_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    429: "rate_limit_error",
}
_CODES = {401: "invalid_api_key", 429: "rate_limit_exceeded"}


class OpenAIError(ApiError):
    """An error of the OpenAI door with OpenAI's ``code`` and ``param``."""

    def __init__(
        self, status: int, detail: str, *, code: str | None = None, param: str | None = None
    ) -> None:
        super().__init__(detail)
        self.status_code = status
        self.code = code
        self.param = param


class ModelNotFound(OpenAIError):
    """``model`` names no assistant or graph served here (404 ``model_not_found``)."""

    def __init__(self, model: str, known: list[str]) -> None:
        super().__init__(
            404,
            f"The model `{model}` does not exist; use one of {known} (GET /v1/models lists them)",
            code="model_not_found",
            param="model",
        )


def openai_error(status: int, detail: str, exc: Exception | None = None) -> tuple[int, dict[str, Any]]:
    """The status and body OpenAI clients expect for an error (see :data:`api.errors.ErrorShape`)."""
    status = 400 if status == 422 else status
    code = getattr(exc, "code", None) or _CODES.get(status)
    error = {
        "message": detail,
        "type": _TYPES.get(status, "server_error"),
        "param": getattr(exc, "param", None),
        "code": code,
    }
    return status, {"error": error}
