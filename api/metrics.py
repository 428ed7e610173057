"""Prometheus metrics of one app (its own registry, so several apps can live in one process).

Exposed at ``/metrics``: runs started and finished (by status), run duration, active, queued and
admitted runs, threads by status (counted in the registry when ``/metrics`` is scraped), and HTTP
request latency by method, route template and status code.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

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
        self.queued_runs = Gauge(
            "sessiongraph_queued_runs",
            "Runs admitted and waiting for their thread or a run slot.",
            registry=self.registry,
        )
        self._admitted = 0
        self._active = 0
        self.queued_runs.set_function(lambda: max(self._admitted - self._active, 0))
        self.threads = Gauge(
            "sessiongraph_threads", "Threads in the registry, by status.", ["status"], registry=self.registry
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
        self._admitted += 1

    def run_started(self) -> None:
        """A run began executing."""
        self.runs_started.inc()
        self.active_runs.inc()
        self._active += 1

    def run_finished(self, status: str, seconds: float) -> None:
        """A run that started has ended with ``status``."""
        self.runs_finished.labels(status).inc()
        self.run_duration.labels(status).observe(seconds)
        self.active_runs.dec()
        self._active -= 1

    def run_released(self) -> None:
        """A run admitted earlier is gone (finished or cancelled while pending)."""
        self.admitted_runs.dec()
        self._admitted -= 1

    def set_thread_counts(self, counts: Mapping[str, int]) -> None:
        """Record how many threads have each status (called when ``/metrics`` is scraped)."""
        for status, count in counts.items():
            self.threads.labels(status).set(count)

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
