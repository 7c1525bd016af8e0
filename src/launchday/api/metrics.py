"""Prometheus metrics of one app: each app gets its own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)


class Metrics:
    """Counters and histograms the launch team and its alerting read."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.orders_accepted = Counter(
            "launchday_orders_accepted",
            "Orders accepted (201), by launch",
            ["launch"],
            registry=self.registry,
        )
        self.rejections = Counter(
            "launchday_rejections",
            "Requests refused, by error code",
            ["code"],
            registry=self.registry,
        )
        self.requests = Histogram(
            "launchday_request_seconds",
            "Request latency in seconds, by route",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.commit_batch = Histogram(
            "launchday_commit_batch_size",
            "Writes committed per transaction (group commit)",
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.write_queue = Gauge(
            "launchday_write_queue_depth",
            "Writes waiting for the writer",
            registry=self.registry,
        )

        # Children by label, so the hot path skips prometheus_client's locked lookup.
        self._latency: dict[str, Histogram] = {}
        self._accepted: dict[str, Counter] = {}

    def request_latency(self, route: str) -> Histogram:
        """The latency histogram of one route (route names are a fixed set)."""
        child = self._latency.get(route)
        if child is None:
            child = self._latency[route] = self.requests.labels(route)
        return child

    def accepted(self, launch: str) -> Counter:
        """The counter of orders accepted for one launch."""
        child = self._accepted.get(launch)
        if child is None:
            child = self._accepted[launch] = self.orders_accepted.labels(launch)
        return child

    def render(self) -> bytes:
        return generate_latest(self.registry)
