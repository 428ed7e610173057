"""The FastAPI application: ``create_app(settings)``.

The lifespan opens the sessions (backend + compiled graph) once, builds the run manager and its
coordination parts (in-process, or shared by replicas through Redis or PostgreSQL:
:mod:`.coordination`),
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

from sessiongraph.api.assistant import AssistantDirectory, declared_id
from sessiongraph.api.coordination import open_coordination
from sessiongraph.api.cron_scheduler import Clock, CronScheduler
from sessiongraph.api.deps import Services
from sessiongraph.api.doors.openai_errors import openai_error
from sessiongraph.api.errors import install_error_handlers
from sessiongraph.api.metrics import HttpMetricsMiddleware, Metrics
from sessiongraph.api.middleware import BodyMiddleware, UnhandledErrorMiddleware
from sessiongraph.api.ratelimit import RateLimiter
from sessiongraph.api.responses import JSON
from sessiongraph.api.routes import (
    a2a,
    assistants,
    crons,
    memory,
    openai_chat,
    openai_conversations,
    openai_responses,
    run_batch,
    runs,
    state,
    store,
    system,
    thread_events,
    thread_extras,
    threads,
    threads_ws,
)
from sessiongraph.api.run_create import RunStarter
from sessiongraph.api.run_manager import RunManager
from sessiongraph.api.run_recovery import RunRecovery
from sessiongraph.api.thread_events import ThreadEventHub
from sessiongraph.sessions import Sessions
from sessiongraph.settings import Settings, get_settings

EXPOSED_HEADERS = ["content-location", "location", "x-pagination-total", "x-pagination-next", "retry-after"]


def create_app(
    settings: Settings | None = None,
    *,
    model: BaseChatModel | None = None,
    tools: Sequence[BaseTool | Callable[..., Any]] | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build the API app on ``settings`` (default: the process settings).

    ``model`` and ``tools`` are passed to the graph (tests inject a chat model this way);
    ``clock`` is the cron scheduler's time source (tests move it forward).
    """
    settings = settings or get_settings()
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            Sessions.open(settings=settings, model=model, tools=tools) as sessions,
            open_coordination(settings, sessions.runs, sessions.coordination_url) as coordination,
        ):
            manager = RunManager(
                sessions,
                coordination,
                metrics=metrics,
                max_concurrent=settings.max_concurrent_runs,
                max_queued=settings.max_queued_runs,
                max_per_owner=settings.max_running_runs_per_owner,
                max_queued_per_owner=settings.max_queued_runs_per_owner,
            )
            directory = AssistantDirectory(sessions)
            await directory.install(settings.assistants)
            starter = RunStarter(sessions, manager, directory, _assistant_limits(settings, sessions.graph_id))
            events = ThreadEventHub(sessions, starter)
            scheduler = CronScheduler(sessions.crons, starter, tick_s=settings.cron_tick_s, clock=clock)
            app.state.services = Services(
                settings=settings,
                sessions=sessions,
                manager=manager,
                metrics=metrics,
                limiter=RateLimiter(settings.rate_limit, settings.rate_limit_storage),
                coordination=coordination,
                assistants=directory,
                runs=starter,
                crons=scheduler,
                thread_events=events,
                auth_failures=RateLimiter(
                    settings.auth_failure_limit,
                    settings.rate_limit_storage,
                    namespace="sessiongraph-auth-failures",
                    what="too many failed authentications from this address ({item})",
                ),
            )
            sessions.on_threads_expired(manager.forget_threads)
            recovery = RunRecovery(manager, coordination, interval_s=settings.worker_lease_s)
            async with (
                coordination.workers.heartbeats(),
                coordination.cancellation(manager.cancel_here),
                recovery.running(),
            ):
                sessions.start_ttl_sweeper()
                scheduler.start()
                try:
                    yield
                finally:
                    await scheduler.stop()
                    await events.aclose()
                    await sessions.stop_ttl_sweeper()
                    await manager.aclose()

    app = FastAPI(
        title="sessiongraph",
        summary="Checkpointed agent sessions over the LangGraph Agent Server protocol.",
        version="0.1.0",
        lifespan=lifespan,
        default_response_class=JSON,
    )
    error_shapes = {"/v1/": openai_error}
    install_error_handlers(app, shapes=error_shapes)
    for module in (
        system,
        assistants,
        threads,
        thread_extras,
        thread_events,
        state,
        runs,
        run_batch,
        crons,
        store,
        openai_chat,
        openai_responses,
        openai_conversations,
        a2a,
        threads_ws,
        memory,
    ):
        app.include_router(module.router)
    if settings.metrics_open_path:
        app.add_api_route(settings.metrics_open_path, system.open_metrics, include_in_schema=False)
    # Innermost: its 500 still gets CORS and metrics.
    app.add_middleware(UnhandledErrorMiddleware, shapes=error_shapes)
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


def _assistant_limits(settings: Settings, graph_id: str) -> dict[str, RateLimiter]:
    """A limiter per declared assistant that has a ``rate_limit``."""
    return {
        declared_id(graph_id, spec): RateLimiter(spec.rate_limit, settings.rate_limit_storage)
        for spec in settings.assistants
        if spec.rate_limit
    }
