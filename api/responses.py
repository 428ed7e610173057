"""The one JSON response class of the API: protocol JSON through orjson (:func:`serialize.dumps`).

Handlers return ``JSON(value)`` (or ``JSON(value, headers=...)``); routes declare
``response_model`` for the OpenAPI document only, so nothing is validated twice on the way out.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from sessiongraph.api.serialize import dumps


class JSON(JSONResponse):
    """A JSON response encoded with :func:`sessiongraph.api.serialize.dumps` (a ``JSONResponse``
    subclass, so FastAPI documents the routes' ``response_model`` in /openapi.json)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Encode ``content`` (bytes pass through: they are encoded JSON already)."""
        if isinstance(content, bytes):
            return content
        return dumps(content)
