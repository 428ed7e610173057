"""The FastAPI application: ``create_app(settings)``.

The lifespan opens the sessions (backend + compiled graph) once, builds the run manager and its
coordination parts (in-process, or shared by replicas through Redis: :mod:`.coordination`),
recovers the runs a dead process left behind (:mod:`.run_recovery`, then in the background) and
starts the TTL sweeper (any thread may get a TTL over the API; on Redis
keys expire natively and no sweeper runs). On shutdown it stops the sweeper and interrupts the
runs still going before closing the backend.

Example::

    import uvicorn
    from sessiongraph.api.app import create_app
    from sessiongraph.settings import Settings

    uvicorn.run(create_app(Settings(checkpoint_url="sqlite:///data/api.db")), port=8000)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from fastapi import FastAPI
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from starlette.middleware.cors import CORSMiddleware

from sessiongraph.api.assistant import SystemAssistant
from sessiongraph.api.coordination import open_coordination
from sessiongraph.api.deps import Services
from sessiongraph.api.errors import install_error_handlers
from sessiongraph.api.metrics import HttpMetricsMiddleware, Metrics
from sessiongraph.api.middleware import BodyMiddleware
from sessiongraph.api.ratelimit import RateLimiter
from sessiongraph.api.responses import JSON
from sessiongraph.api.routes import assistants, runs, state, system, threads
from sessiongraph.api.run_manager import RunManager
from sessiongraph.api.run_recovery import RunRecovery
from sessiongraph.sessions import Sessions
from sessiongraph.settings import Settings, get_settings

EXPOSED_HEADERS = ["content-location", "location", "x-pagination-total", "x-pagination-next", "retry-after"]


def create_app(
    settings: Settings | None = None,
    *,
    model: BaseChatModel | None = None,
    tools: Sequence[BaseTool | Callable[..., Any]] | None = None,
) -> FastAPI:
    """Build the API app on ``settings`` (default: the process settings).

    ``model`` and ``tools`` are passed to the graph (tests inject a chat model this way).
    """
    settings = settings or get_settings()
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            Sessions.open(settings=settings, model=model, tools=tools) as sessions,
            open_coordination(settings, sessions.runs) as coordination,
        ):
            manager = RunManager(
                sessions,
                coordination,
                metrics=metrics,
                max_concurrent=settings.max_concurrent_runs,
                max_queued=settings.max_queued_runs,
            )
            app.state.services = Services(
                settings=settings,
                sessions=sessions,
                manager=manager,
                metrics=metrics,
                limiter=RateLimiter(settings.rate_limit, settings.rate_limit_storage),
                assistant=SystemAssistant(sessions),
                coordination=coordination,
            )
            sessions.on_threads_expired(manager.forget_threads)
            recovery = RunRecovery(manager, coordination, interval_s=settings.worker_lease_s)
            async with (
                coordination.workers.heartbeats(),
                coordination.cancellation(manager.cancel_here),
                recovery.running(),
            ):
                sessions.start_ttl_sweeper()
                try:
                    yield
                finally:
                    await sessions.stop_ttl_sweeper()
                    await manager.aclose()

    app = FastAPI(
        title="sessiongraph",
        summary="Checkpointed agent sessions over the LangGraph Agent Server protocol.",
        version="0.1.0",
        lifespan=lifespan,
        default_response_class=JSON,
    )
    install_error_handlers(app)
    for module in (system, assistants, threads, state, runs):
        app.include_router(module.router)
    app.add_middleware(BodyMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        allow_credentials="*" not in settings.cors_origins,
        expose_headers=EXPOSED_HEADERS,
        allow_private_network=True,
    )
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)
    return app
