"""Many buyers at once, over real HTTP: nothing oversold, nothing doubled."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.support import ADMIN_KEY, customer_token, launch_body, loopback_server, settings_for

T = TypeVar("T")
LIMITED = [{"sku": "FOUNDERS", "name": "Founders Edition", "price": 299900, "stock": 50}]


async def _create(client: httpx.AsyncClient, **overrides: Any) -> None:
    response = await client.post(
        "/api/v1/launches",
        json=launch_body(**overrides),
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert response.status_code == 201, response.text


async def _order(
    client: httpx.AsyncClient, customer: str, key: str, sku: str = "FOUNDERS"
) -> httpx.Response:
    return await client.post(
        "/api/v1/launches/yu7-2025/orders",
        json={"sku": sku},
        headers={"Authorization": f"Bearer {customer_token(customer)}", "Idempotency-Key": key},
    )


def _run_against_server(tmp_path: Path, scenario: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
    """Run `scenario` with an async client of 500 connections against a real server."""
    with loopback_server(settings_for(tmp_path / "launchday.db")) as base:

        async def main() -> T:
            limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
            async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
                return await scenario(client)

        return asyncio.run(main())


def test_five_hundred_buyers_for_fifty_units_get_exactly_fifty_orders(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> tuple[Counter[str], dict[str, object]]:
        await _create(client, variants=LIMITED)
        responses = await asyncio.gather(*(_order(client, f"c-{i}", f"k-{i}") for i in range(500)))
        outcomes = Counter(
            "created" if r.status_code == 201 else r.json()["error"]["code"] for r in responses
        )
        launch = (await client.get("/api/v1/launches/yu7-2025")).json()
        return outcomes, launch["variants"][0]["counts"]

    outcomes, counts = _run_against_server(tmp_path, scenario)
    assert outcomes == Counter({"created": 50, "sold_out": 450})
    assert counts == {"placed": 50, "cancelled": 0, "live": 50, "available": 0, "sold_out": True}
    with sqlite3.connect(tmp_path / "launchday.db") as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (50,)


def test_concurrent_retries_of_one_key_make_one_order(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> list[httpx.Response]:
        await _create(client, variants=LIMITED)
        return list(await asyncio.gather(*(_order(client, "c-1", "same") for _ in range(100))))

    responses = _run_against_server(tmp_path, scenario)
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    with sqlite3.connect(tmp_path / "launchday.db") as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (1,)


def test_one_customer_racing_many_keys_gets_only_the_limit(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> Counter[str]:
        await _create(client, per_customer_limit=3)
        responses = await asyncio.gather(
            *(_order(client, "c-1", f"k-{i}", "YU7-MAX") for i in range(200))
        )
        return Counter(
            "created" if r.status_code == 201 else r.json()["error"]["code"] for r in responses
        )

    assert _run_against_server(tmp_path, scenario) == Counter({"created": 3, "limit_reached": 197})


def test_cancellations_racing_new_buyers_never_oversell(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> tuple[int, int]:
        await _create(client, variants=LIMITED)
        first = await asyncio.gather(*(_order(client, f"a-{i}", "k") for i in range(50)))
        cancels = [
            client.post(
                f"/api/v1/orders/{r.json()['id']}/cancel",
                headers={"Authorization": f"Bearer {customer_token(f'a-{i}')}"},
            )
            for i, r in enumerate(first[:20])
        ]
        buyers = [_order(client, f"b-{i}", "k") for i in range(200)]
        results = await asyncio.gather(*cancels, *buyers)
        cancelled = sum(1 for r in results[:20] if r.status_code == 200)
        bought = sum(1 for r in results[20:] if r.status_code == 201)
        return cancelled, bought

    cancelled, bought = _run_against_server(tmp_path, scenario)
    assert cancelled == 20
    assert bought <= 20
    with sqlite3.connect(tmp_path / "launchday.db") as conn:
        live = conn.execute("SELECT count(*) FROM orders WHERE status != 'cancelled'").fetchone()
    assert live[0] == 50 - 20 + bought
    assert live[0] <= 50
