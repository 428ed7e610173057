"""``/ok``, ``/info`` and ``/metrics``."""

from __future__ import annotations

import hmac
from typing import Annotated

import langgraph.version as _lg_version
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from sessiongraph.api.auth import presented_key
from sessiongraph.api.deps import Services, authenticated, services
from sessiongraph.api.response_models import ErrorDetail
from sessiongraph.api.responses import JSON
from sessiongraph.checkpoints.registry import THREAD_STATUSES, ThreadQuery

router = APIRouter(tags=["system"])

PROTOCOL_VERSION = "0.16.7"
"""The langgraph-api version whose protocol this server speaks (Studio gates features on it)."""


@router.get("/", summary="Health check")
async def root() -> Response:
    """``{"ok": true}`` while the server runs (the reference answers ``GET /`` too)."""
    return JSON({"ok": True})


@router.get("/ok", summary="Liveness check")
async def ok() -> Response:
    """``{"ok": true}`` while the server runs."""
    return JSON({"ok": True})


@router.get("/info", summary="Server information")
async def info(svc: Annotated[Services, Depends(services)]) -> Response:
    """Version, feature flags and host kind, shaped like the reference server's."""
    return JSON(
        {
            "version": PROTOCOL_VERSION,
            "langgraph_py_version": getattr(_lg_version, "__version__", None),
            "flags": {"assistants": True, "crons": True, "langsmith": False},
            "host": {"kind": "self-hosted", "project_id": None, "revision_id": None, "tenant_id": None},
            "sessiongraph": {"backend": svc.sessions.backend_name, "model": svc.settings.resolved_model},
        }
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    responses={401: {"model": ErrorDetail}, 429: {"model": ErrorDetail}},
)
async def metrics(request: Request, svc: Annotated[Services, Depends(services)]) -> Response:
    """Run, thread and HTTP metrics in the Prometheus text format.

    With auth on, send an API key or ``Settings.metrics_key`` (``Authorization: Bearer <key>``):
    the counts are server-wide, so they are not for every client to see.
    """
    if svc.settings.api_keys:
        presented = presented_key(request)
        key = svc.settings.metrics_key
        if key is None or presented is None or not hmac.compare_digest(key.encode(), presented.encode()):
            await authenticated(request, svc)
    return await render_metrics(svc)


async def render_metrics(svc: Services) -> Response:
    """The metrics page (also served at ``Settings.metrics_open_path`` when set)."""
    svc.metrics.set_thread_counts(
        {status: await svc.sessions.count_threads(ThreadQuery(status=status)) for status in THREAD_STATUSES}
    )
    return Response(svc.metrics.render(), media_type=svc.metrics.content_type)


async def open_metrics(svc: Annotated[Services, Depends(services)]) -> Response:
    """The metrics without a key, for ``Settings.metrics_open_path`` (a scraper-only network path)."""
    return await render_metrics(svc)
