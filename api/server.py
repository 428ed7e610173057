"""``sessiongraph serve``: run the API with uvicorn, in one process or several workers.

Without API keys the server has no authentication, so it refuses any address but loopback.
Several workers (``--workers N``) serve the same sessions like replicas do: they need a backend
that several processes share (``redis://``, ``postgresql://``), which coordinates their runs
(locks, run records, streams, cancels) too, unless ``SESSIONGRAPH_COORDINATION_URL`` names
another Redis or PostgreSQL (``memory://`` there keeps coordination in one process: refused).

With one worker, SIGTERM drains before uvicorn stops: the server keeps answering (new runs get 503 with
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
from sessiongraph.api.coordination.factory import coordination_url
from sessiongraph.checkpoints.factory import backend_class
from sessiongraph.settings import Settings, export_to_environment, get_settings

WORKER_FIELDS = ("checkpoint_url", "model", "host", "port", "coordination_url")
"""Settings the command line may override, handed to the worker processes."""

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


class UnsharedWorkers(RuntimeError):
    """More than one worker was asked for on sessions or coordination only one process can use."""


def check_workers(settings: Settings, workers: int) -> None:
    """Raise :class:`UnsharedWorkers` unless ``workers`` processes can share sessions and runs."""
    if workers <= 1:
        return
    if not backend_class(settings.checkpoint_url).shared:
        raise UnsharedWorkers(
            f"--workers {workers} needs sessions that several processes share, and "
            f"{settings.checkpoint_url} lives in one process; use redis://host:port/db or "
            "postgresql://user@host/db as the checkpoint URL, or run one worker."
        )
    # A shared backend offers itself for coordination (Backend.coordination_url).
    if coordination_url(settings, settings.checkpoint_url) is None:
        raise UnsharedWorkers(
            f"--workers {workers} needs the runs coordinated across the workers, and "
            f"SESSIONGRAPH_COORDINATION_URL={settings.coordination_url} keeps them in one process; "
            "unset it (the checkpoint URL's store coordinates them), or run one worker."
        )


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn's factory; the settings come from the environment)."""
    return create_app(get_settings())


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


def serve(settings: Settings, workers: int = 1) -> None:
    """Start uvicorn on ``settings.host:settings.port`` with ``workers`` processes (blocks until
    stopped)."""
    try:
        check_bind(settings)
        check_workers(settings, workers)
    except (UnsafeBind, UnsharedWorkers) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(banner(settings), flush=True)
    if workers == 1:
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
        return
    print(f"  workers: {workers}", flush=True)
    export_to_environment(settings, *WORKER_FIELDS)
    # Each worker drains through its own lifespan shutdown (runs interrupted and rolled back).
    uvicorn.run(
        f"{__name__}:worker_app",
        factory=True,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
