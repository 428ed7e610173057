"""``sessiongraph serve``: run the API with uvicorn.

Without API keys the server has no authentication, so it refuses any address but loopback.

SIGTERM drains before uvicorn stops: the server keeps answering (new runs get 503 with
``Retry-After``, ``/ready`` says it is shutting down), queued runs fail at once, running ones
get ``drain_grace_s`` seconds and are then stopped with a rollback, and every stream ends with
an ``error`` or ``end`` event; only then does uvicorn close the connections. A second SIGTERM
or a SIGINT stops at once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import sys
from types import FrameType

import uvicorn
from fastapi import FastAPI

from sessiongraph.api.app import create_app
from sessiongraph.settings import Settings

log = logging.getLogger("sessiongraph.api.server")


class DrainingServer(uvicorn.Server):
    """A uvicorn server whose first SIGTERM drains the run manager before shutting down."""

    def __init__(self, config: uvicorn.Config, app: FastAPI, grace_s: float) -> None:
        super().__init__(config)
        self._app = app
        self._grace_s = grace_s
        self._drain_requested = False
        self._drain_task: asyncio.Task[None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """SIGTERM the first time: drain (see the module docstring); anything else: uvicorn's."""
        if sig == signal.SIGTERM and not self._drain_requested and not self.should_exit:
            self._drain_requested = True
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        """Start the drain on the loop once asked (signal handlers must not touch the loop)."""
        if self._drain_requested and self._drain_task is None:
            self._drain_task = asyncio.create_task(self._drain(), name="drain")
        return await super().on_tick(counter)

    async def _drain(self) -> None:
        services = getattr(self._app.state, "services", None)
        try:
            if services is not None:
                log.info("SIGTERM: draining runs (grace %ss)", self._grace_s)
                await services.manager.drain(self._grace_s)
        except Exception:
            log.exception("drain failed")
        finally:
            self.should_exit = True


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
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    DrainingServer(config, app, settings.drain_grace_s).run()
