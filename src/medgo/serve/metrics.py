"""Prometheus metrics, on a registry of the app's own (several apps may live in one process, as in tests)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, queue_depth: Callable[[], int]) -> None:
        self.registry = r = CollectorRegistry()
        self.requests = Counter("medgo_requests_total", "HTTP requests", ["route", "status"], registry=r)
        self.tokens = Counter("medgo_tokens_total", "tokens processed", ["kind"], registry=r)
        self.latency = Histogram(
            "medgo_request_latency_seconds", "request latency", ["route"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.ttft = Histogram(
            "medgo_time_to_first_token_seconds",
            "time to first streamed token",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch = Histogram(
            "medgo_batch_size", "sequences per generation batch", buckets=(1, 2, 4, 8, 16, 32, 64), registry=r
        )
        self.assess = Counter(
            "medgo_assess_outcomes_total", "clinical assess outcomes", ["outcome"], registry=r
        )
        self.queue = Gauge("medgo_queue_depth", "sequences waiting or running", registry=r)
        self.queue.set_function(queue_depth)

    def observe(
        self, route: str, status: int, latency_s: float, prompt_tokens: int = 0, completion_tokens: int = 0
    ) -> None:
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route).observe(latency_s)
        if prompt_tokens:
            self.tokens.labels("prompt").inc(prompt_tokens)
        if completion_tokens:
            self.tokens.labels("completion").inc(completion_tokens)

    def render(self) -> bytes:
        return generate_latest(self.registry)
