"""GET /metrics: Prometheus text whose counts match what the API did."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from launchday.app import create_app
from tests.support import (
    ADMIN_KEY,
    T0,
    Api,
    SettableClock,
    customer_token,
    launch_body,
    settings_for,
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

# A build-to-order trim and a one-unit run, one live order per customer.
VARIANTS = [
    {"sku": "SU7-MAX", "name": "SU7 Max", "price": 299900, "stock": None},
    {"sku": "SU7-ONE", "name": "Founders One", "price": 499900, "stock": 1},
]


def scrape(api: Api) -> tuple[str, Samples]:
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def families(text: str) -> dict[str, str]:
    return {family.name: family.type for family in text_string_to_metric_families(text)}


@pytest.fixture
def night(api: Api) -> Api:
    """Two launches; orders accepted, a replay, a sold-out one and one past the limit."""
    api.create_launch(slug="su7-2024", variants=VARIANTS)
    api.create_launch(slug="yu7-2025")
    outcomes = [
        api.place("c-1", "SU7-MAX", slug="su7-2024").status_code,
        api.place("c-2", "SU7-MAX", slug="su7-2024").status_code,
        api.place("c-3", "SU7-ONE", slug="su7-2024").status_code,
        api.place("c-4", "SU7-ONE", slug="su7-2024").status_code,  # the one unit is gone
        api.place("c-1", "SU7-ONE", slug="su7-2024").status_code,  # c-1 already holds one
        api.place("c-1", "SU7-MAX", slug="su7-2024").status_code,  # a retry: the same order
        api.place("c-9", "YU7-MAX").status_code,
    ]
    assert outcomes == [201, 201, 201, 409, 409, 201, 201]
    assert api.get("/api/v1/launches/su7-2024").status_code == 200
    assert api.get("/api/v1/launches/no-such-launch").status_code == 404
    return api


def test_metrics_are_prometheus_text_of_the_documented_families(night: Api) -> None:
    text, _ = scrape(night)
    documented = {
        "launchday_orders_accepted": "counter",
        "launchday_rejections": "counter",
        "launchday_request_seconds": "histogram",
        "launchday_commit_batch_size": "histogram",
        "launchday_write_queue_depth": "gauge",
    }
    # prometheus_client also exposes a `_created` gauge beside each counter and histogram.
    assert documented.items() <= families(text).items()


def test_accepted_orders_are_counted_per_launch_without_replays(night: Api) -> None:
    text, samples = scrape(night)
    assert 'launchday_orders_accepted_total{launch="su7-2024"} 3.0' in text
    assert value(samples, "launchday_orders_accepted_total", launch="su7-2024") == 3
    assert value(samples, "launchday_orders_accepted_total", launch="yu7-2025") == 1


def test_rejections_are_counted_by_error_code(night: Api) -> None:
    text, samples = scrape(night)
    assert 'launchday_rejections_total{code="sold_out"} 1.0' in text
    rejections = {
        dict(labels)["code"]: count
        for (name, labels), count in samples.items()
        if name == "launchday_rejections_total"
    }
    assert rejections == {"sold_out": 1, "limit_reached": 1, "not_found": 1}


def test_a_refusal_before_the_route_is_counted_too(api: Api) -> None:
    assert api.post("/api/v1/launches", json=launch_body()).status_code == 401
    assert api.get("/nowhere").status_code == 404
    _, samples = scrape(api)
    assert value(samples, "launchday_rejections_total", code="unauthenticated") == 1
    assert value(samples, "launchday_rejections_total", code="not_found") == 1
    assert value(samples, "launchday_request_seconds_count", route="unmatched") == 1


def test_every_write_is_in_exactly_one_committed_batch(night: Api) -> None:
    _, samples = scrape(night)
    batches = value(samples, "launchday_commit_batch_size_count")
    writes = value(samples, "launchday_commit_batch_size_sum")
    # Requests one at a time: two launches, each with its audit entry (the admin's
    # change), and seven orders (refusals and the replay run in the writer's
    # transaction too), each alone in its batch.
    assert batches > 0
    assert writes == 2 * 2 + 7
    assert batches == writes
    assert value(samples, "launchday_commit_batch_size_bucket", le="1.0") == batches
    assert value(samples, "launchday_commit_batch_size_bucket", le="+Inf") == batches


def test_request_latency_is_a_histogram_per_route(night: Api) -> None:
    _, samples = scrape(night)
    counts = {
        dict(labels)["route"]: count
        for (name, labels), count in samples.items()
        if name == "launchday_request_seconds_count"
    }
    assert counts == {"create_launch": 2, "place_order": 7, "get_launch": 2}
    for route, count in counts.items():
        assert value(samples, "launchday_request_seconds_bucket", route=route, le="+Inf") == count
        assert value(samples, "launchday_request_seconds_sum", route=route) > 0


def test_the_scrape_itself_is_counted_on_the_next_scrape(night: Api) -> None:
    scrape(night)
    _, samples = scrape(night)
    assert value(samples, "launchday_request_seconds_count", route="metrics") == 1


def test_the_write_queue_is_empty_between_requests(night: Api) -> None:
    _, samples = scrape(night)
    assert value(samples, "launchday_write_queue_depth") == 0


def test_concurrent_orders_are_group_committed_and_every_write_counted_once(
    tmp_path: Path,
) -> None:
    orders = 60
    app = create_app(settings_for(tmp_path / "launchday.db"), clock=SettableClock(T0))
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}

    async def night() -> tuple[list[int], str]:
        await app.startup()
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
                created = await client.post("/api/v1/launches", json=launch_body(), headers=admin)
                assert created.status_code == 201, created.text

                async def place(n: int) -> Any:
                    return await client.post(
                        "/api/v1/launches/yu7-2025/orders",
                        json={"sku": "YU7-MAX"},
                        headers={
                            "Authorization": f"Bearer {customer_token(f'c-{n}')}",
                            "Idempotency-Key": f"k-{n}",
                        },
                    )

                placed = await asyncio.gather(*(place(n) for n in range(orders)))
                metrics = await client.get("/metrics")
                return [r.status_code for r in placed], metrics.text
        finally:
            await app.shutdown()

    statuses, text = asyncio.run(night())
    assert statuses == [201] * orders
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    batches = value(samples, "launchday_commit_batch_size_count")
    # The launch, its audit entry, and every order.
    assert value(samples, "launchday_commit_batch_size_sum") == 2 + orders
    assert 0 < batches <= 2 + orders
    assert value(samples, "launchday_orders_accepted_total", launch="yu7-2025") == orders
