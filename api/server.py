"""``sessiongraph serve``: run the API with uvicorn.

Without API keys the server has no authentication, so it refuses any address but loopback.
"""

from __future__ import annotations

import ipaddress
import sys

import uvicorn

from sessiongraph.api.app import create_app
from sessiongraph.settings import Settings


class UnsafeBind(RuntimeError):
    """A non-loopback address was asked for while no API keys are configured."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts local connections."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings) -> None:
    """Raise :class:`UnsafeBind` for a public bind without API keys."""
    if not settings.api_keys and not is_loopback(settings.host):
        raise UnsafeBind(
            f"refusing to bind {settings.host}: no API keys are configured, so anyone who can reach "
            "the port could use the API. Configure SESSIONGRAPH_API_KEYS (key -> owner) or bind "
            "127.0.0.1."
        )


def banner(settings: Settings) -> str:
    """How to reach the server (printed at start)."""
    url = f"http://{settings.host}:{settings.port}"
    auth = (
        f"API keys: {len(settings.api_keys)} configured (send x-api-key)"
        if settings.api_keys
        else "No API keys configured: authentication is off, so the server binds to loopback only."
    )
    key_arg = ', api_key="<your key>"' if settings.api_keys else ""
    return "\n".join(
        [
            f"sessiongraph API on {url}",
            f"  backend: {settings.checkpoint_url}   model: {settings.resolved_model}",
            f"  docs:    {url}/docs",
            f"  metrics: {url}/metrics",
            f"  {auth}",
            "  from langgraph_sdk import get_client",
            f'  client = get_client(url="{url}"{key_arg})',
            "  thread = await client.threads.create()",
            '  message = {"role": "user", "content": "hi"}',
            '  await client.runs.wait(thread["thread_id"], "agent", input={"messages": [message]})',
        ]
    )


def serve(settings: Settings) -> None:
    """Start uvicorn on ``settings.host:settings.port`` (blocks until stopped)."""
    try:
        check_bind(settings)
    except UnsafeBind as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(banner(settings), flush=True)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
