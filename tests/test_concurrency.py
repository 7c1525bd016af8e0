"""Many buyers at once, over real HTTP: nothing oversold, nothing doubled.

Each race runs on SQLite (one server), on PostgreSQL (one server), and on PostgreSQL
with three server processes on one database, every request going to the next server
in turn: the locks must hold across processes, not only within one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.support import (
    ADMIN_KEY,
    Database,
    customer_token,
    fresh_database,
    launch_body,
    servers,
)

T = TypeVar("T")
LIMITED = [{"sku": "FOUNDERS", "name": "Founders Edition", "price": 299900, "stock": 50}]


class Spread:
    """An async client that sends each request to the next server in turn."""

    def __init__(self, clients: list[httpx.AsyncClient]) -> None:
        self._next = itertools.cycle(clients)

    async def post(self, path: str, **kw: Any) -> httpx.Response:
        return await next(self._next).post(path, **kw)

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await next(self._next).get(path, **kw)


@pytest.fixture(params=[("sqlite", 1), ("postgresql", 1), ("postgresql", 3)], ids=str)
def topology(
    request: pytest.FixtureRequest, tmp_path: Path, postgres: Any
) -> Iterator[tuple[Database, int]]:
    kind, processes = request.param
    with fresh_database(kind, tmp_path, postgres) as database:
        yield database, processes


async def _create(client: Spread, **overrides: Any) -> None:
    response = await client.post(
        "/api/v1/launches",
        json=launch_body(**overrides),
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert response.status_code == 201, response.text


async def _order(client: Spread, customer: str, key: str, sku: str = "FOUNDERS") -> httpx.Response:
    return await client.post(
        "/api/v1/launches/yu7-2025/orders",
        json={"sku": sku},
        headers={"Authorization": f"Bearer {customer_token(customer)}", "Idempotency-Key": key},
    )


def _run_against_server(
    topology: tuple[Database, int],
    tmp_path: Path,
    scenario: Callable[[Spread], Awaitable[T]],
) -> T:
    """Run `scenario` with 500 connections in all, spread over the topology's servers."""
    database, processes = topology
    with servers(database, processes, tmp_path) as bases:

        async def main() -> T:
            per_server = 500 // len(bases)
            limits = httpx.Limits(max_connections=per_server, max_keepalive_connections=per_server)
            async with contextlib.AsyncExitStack() as stack:
                clients = [
                    await stack.enter_async_context(
                        httpx.AsyncClient(base_url=base, limits=limits, timeout=60)
                    )
                    for base in bases
                ]
                return await scenario(Spread(clients))

        return asyncio.run(main())


def test_five_hundred_buyers_for_fifty_units_get_exactly_fifty_orders(
    topology: tuple[Database, int], tmp_path: Path
) -> None:
    async def scenario(client: Spread) -> tuple[Counter[str], dict[str, object]]:
        await _create(client, variants=LIMITED)
        responses = await asyncio.gather(*(_order(client, f"c-{i}", f"k-{i}") for i in range(500)))
        outcomes = Counter(
            "created" if r.status_code == 201 else r.json()["error"]["code"] for r in responses
        )
        launch = (await client.get("/api/v1/launches/yu7-2025")).json()
        return outcomes, launch["variants"][0]["counts"]

    outcomes, counts = _run_against_server(topology, tmp_path, scenario)
    assert outcomes == Counter({"created": 50, "sold_out": 450})
    assert counts == {"placed": 50, "cancelled": 0, "live": 50, "available": 0, "sold_out": True}
    assert topology[0].scalar("SELECT count(*) FROM orders") == 50
    # Order sequences increase with acceptance time, across processes too.
    rows = topology[0].query("SELECT placed_at_us FROM orders ORDER BY seq")
    assert [t for (t,) in rows] == sorted(t for (t,) in rows)


def test_concurrent_retries_of_one_key_make_one_order(
    topology: tuple[Database, int], tmp_path: Path
) -> None:
    async def scenario(client: Spread) -> list[httpx.Response]:
        await _create(client, variants=LIMITED)
        return list(await asyncio.gather(*(_order(client, "c-1", "same") for _ in range(100))))

    responses = _run_against_server(topology, tmp_path, scenario)
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert topology[0].scalar("SELECT count(*) FROM orders") == 1


def test_one_customer_racing_many_keys_gets_only_the_limit(
    topology: tuple[Database, int], tmp_path: Path
) -> None:
    async def scenario(client: Spread) -> Counter[str]:
        await _create(client, per_customer_limit=3)
        responses = await asyncio.gather(
            *(_order(client, "c-1", f"k-{i}", "YU7-MAX") for i in range(200))
        )
        return Counter(
            "created" if r.status_code == 201 else r.json()["error"]["code"] for r in responses
        )

    assert _run_against_server(topology, tmp_path, scenario) == Counter(
        {"created": 3, "limit_reached": 197}
    )


def test_cancellations_racing_new_buyers_never_oversell(
    topology: tuple[Database, int], tmp_path: Path
) -> None:
    async def scenario(client: Spread) -> tuple[int, int]:
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

    cancelled, bought = _run_against_server(topology, tmp_path, scenario)
    assert cancelled == 20
    assert bought <= 20
    live = topology[0].scalar("SELECT count(*) FROM orders WHERE status != 'cancelled'")
    assert live == 50 - 20 + bought
    assert live <= 50
