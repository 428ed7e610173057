"""Prometheus metrics of one app (its own registry, so several apps can live in one process).

Exposed at ``/metrics``: runs started and finished (by status), run duration, active and queued
runs, and HTTP request latency by method, route template and status code.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_RUN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    """The app's counters, gauges and histograms."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.runs_started = Counter(
            "sessiongraph_runs_started", "Runs that started executing.", registry=self.registry
        )
        self.runs_finished = Counter(
            "sessiongraph_runs_finished", "Runs that finished, by status.", ["status"], registry=self.registry
        )
        self.run_duration = Histogram(
            "sessiongraph_run_duration_seconds",
            "Execution time of runs, by final status.",
            ["status"],
            buckets=_RUN_BUCKETS,
            registry=self.registry,
        )
        self.active_runs = Gauge("sessiongraph_active_runs", "Runs executing now.", registry=self.registry)
        self.admitted_runs = Gauge(
            "sessiongraph_admitted_runs", "Runs pending or executing.", registry=self.registry
        )
        self.http_latency = Histogram(
            "sessiongraph_http_request_duration_seconds",
            "HTTP request latency (to the end of the response body).",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )

    def run_admitted(self) -> None:
        """A run was accepted (pending)."""
        self.admitted_runs.inc()

    def run_started(self) -> None:
        """A run began executing."""
        self.runs_started.inc()
        self.active_runs.inc()

    def run_finished(self, status: str, seconds: float) -> None:
        """A run that started has ended with ``status``."""
        self.runs_finished.labels(status).inc()
        self.run_duration.labels(status).observe(seconds)
        self.active_runs.dec()

    def run_released(self) -> None:
        """A run admitted earlier is gone (finished or cancelled while pending)."""
        self.admitted_runs.dec()

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


class HttpMetricsMiddleware:
    """Pure ASGI middleware timing each request, labelled with the matched route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.http_latency.labels(scope["method"], template, str(status[0])).observe(
                time.perf_counter() - start
            )
