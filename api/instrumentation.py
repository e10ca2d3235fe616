"""Prometheus metrics of the API process: requests, latency, submissions, verdicts.

Metrics live in a registry per app so tests can read their own counts. Under gunicorn,
`vigie serve` sets PROMETHEUS_MULTIPROC_DIR before any worker starts: prometheus-client
then writes every process's values to files in that directory and /metrics aggregates
them with a MultiProcessCollector (otherwise each scrape would see one random worker).
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

# Submit latency is dominated by one SQLite/PostgreSQL commit and one Redis round trip.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class ApiMetrics:
    """The API's metric families, registered in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "vigie_http_requests",
            "HTTP requests by endpoint, method and status.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "vigie_http_request_duration_seconds",
            "HTTP request latency by endpoint and method.",
            ["endpoint", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.submissions = Counter(
            "vigie_submissions",
            "Accepted submissions by kind and outcome (created, revised, replayed).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.verdicts = Counter(
            "vigie_verdicts",
            "Verdicts returned by the API's synchronous scoring path, by value.",
            ["verdict"],
            registry=self.registry,
        )
        self.sync_fallbacks = Counter(
            "vigie_sync_fallbacks",
            "?mode=sync requests answered 202 because scoring missed the budget or failed.",
            ["reason"],
            registry=self.registry,
        )
        self.enqueue_failures = Counter(
            "vigie_enqueue_failures",
            "Submissions committed but not enqueued (Redis down); the sweeper recovers them.",
            registry=self.registry,
        )
        self.ratelimit_fail_open = Counter(
            "vigie_ratelimit_fail_open",
            "Requests let through because the rate limiter could not reach Redis.",
            registry=self.registry,
        )

        # 1 for the versions this process's sync-mode scorer serves now, 0 for those it served before a
        # hot reload (per process under gunicorn: "liveall" drops the series of dead workers).
        self.scorer_info = Gauge(
            "vigie_scorer_info",
            "Rule pack and model versions of the sync-mode scorer (1 = serving now).",
            ["rules_version", "model_version"],
            registry=self.registry,
            multiprocess_mode="liveall",
        )

    def observe_scorer(self, old: object | None, new: object) -> None:
        """A `ReloadingScorer` swap listener: move the 1 to the new versions."""
        if old is not None:
            self.scorer_info.labels(_version(old, "rules_version"), _version(old, "model_version")).set(0)
        self.scorer_info.labels(_version(new, "rules_version"), _version(new, "model_version")).set(1)

    def exposition(self) -> Response:
        """The text exposition of every process's metrics (multiprocess-aware)."""
        # prometheus-client's own switch: it decides at import whether values go to files.
        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = self.registry
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _version(scorer: object, name: str) -> str:
    return str(getattr(scorer, name, "unknown"))


def init_app(app: Flask, metrics: ApiMetrics) -> None:
    """Time every request and count it by endpoint (the route's name, never the raw path)."""

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.get("request_started")
        endpoint = request.endpoint or "unmatched"
        metrics.requests.labels(endpoint, request.method, str(response.status_code)).inc()
        if started is not None:
            metrics.latency.labels(endpoint, request.method).observe(time.perf_counter() - started)
        return response
