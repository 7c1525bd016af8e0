"""Prometheus metrics of one app: each app gets its own registry."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import HistogramMetricFamily

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)
# The `le` labels of the latency buckets, written as prometheus_client writes them.
_BOUND_LABELS = tuple(repr(float(bound)) for bound in _LATENCY_BUCKETS)


class RouteLatency:
    """`launchday_request_seconds`: request latency by route, a Prometheus histogram.

    Observed on the event loop alone, so its counts are plain lists with no lock: the
    library's `Histogram` takes a lock and walks its buckets on every observation, a
    few microseconds of every request. prometheus_client renders it (`collect`).
    """

    def __init__(self) -> None:
        self._counts: dict[str, list[int]] = {}  # per route: one count per bucket, +Inf last
        self._sums: dict[str, float] = {}

    def observe(self, route: str, seconds: float) -> None:
        counts = self._counts.get(route)
        if counts is None:
            counts = self._counts[route] = [0] * (len(_LATENCY_BUCKETS) + 1)
            self._sums[route] = 0.0
        counts[bisect.bisect_left(_LATENCY_BUCKETS, seconds)] += 1
        self._sums[route] += seconds

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(
            "launchday_request_seconds", "Request latency in seconds, by route", labels=["route"]
        )
        for route, counts in list(self._counts.items()):
            bounds = [*_BOUND_LABELS, "+Inf"]
            family.add_metric(
                [route],
                list(zip(bounds, itertools.accumulate(counts), strict=True)),
                self._sums[route],
            )
        yield family


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
        self.requests = RouteLatency()
        self.registry.register(self.requests)
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
        self.clock_offset = Gauge(
            "launchday_clock_offset_seconds",
            "This host's clock minus the database's, as last measured",
            registry=self.registry,
        )

        # Children by label, so the hot path skips prometheus_client's locked lookup.
        self._accepted: dict[str, Counter] = {}

    def accepted(self, launch: str) -> Counter:
        """The counter of orders accepted for one launch."""
        child = self._accepted.get(launch)
        if child is None:
            child = self._accepted[launch] = self.orders_accepted.labels(launch)
        return child

    def render(self) -> bytes:
        return generate_latest(self.registry)
