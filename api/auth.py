"""API keys -> owners.

The SDK sends ``x-api-key``; ``Authorization: Bearer <key>`` is accepted too. With keys
configured every resource route needs one (401 otherwise), and the owner it maps to decides
which threads the caller sees. With no keys configured there is no owner and no check (the
server then only binds to loopback, see :mod:`sessiongraph.api.server`).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from sessiongraph.api.errors import Unauthorized


@dataclass(frozen=True)
class Caller:
    """Who is calling: ``owner`` is ``None`` when auth is off; ``key`` identifies the caller for
    rate limiting (the API key's owner, or the client address without auth)."""

    owner: str | None
    key: str


def presented_key(request: HTTPConnection) -> str | None:
    """The key in ``x-api-key`` or ``Authorization: Bearer``."""
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def authenticate(request: HTTPConnection, api_keys: Mapping[str, str]) -> Caller:
    """The caller of ``request`` (or of a WebSocket handshake); raise 401 when keys are configured
    and none valid was sent."""
    if not api_keys:
        host = request.client.host if request.client else "local"
        return Caller(owner=None, key=f"ip:{host}")
    key = presented_key(request)
    if key is None:
        raise Unauthorized(
            "missing API key: send it as the x-api-key header (or Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    for known, owner in api_keys.items():
        if hmac.compare_digest(known.encode(), key.encode()):
            return Caller(owner=owner, key=f"owner:{owner}")
    raise Unauthorized("invalid API key", headers={"WWW-Authenticate": "Bearer"})
