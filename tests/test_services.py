"""The use cases without HTTP, on SQLite and PostgreSQL alike: what the API promises is
already true one layer down, where the services meet the store's ports."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import msgspec
import pytest

from launchday.api.wire import LaunchSpec, launch_from_spec
from launchday.domain.errors import (
    AdmissionRequired,
    AlreadyCancelled,
    AlreadyExists,
    IdempotencyConflict,
    LimitReached,
    Locked,
    NotFound,
    NotOpen,
    SoldOut,
)
from launchday.domain.lifecycle import OrderStatus
from launchday.domain.order import Profile
from launchday.services import Services, make_services
from launchday.store import open_store
from tests.support import SECRET, T0, Database, SettableClock, launch_body

T = TypeVar("T")
BUYER = Profile(first_car_with_brand=True, new_to_brand=False, phone="ios")


def run(database: Database, clock: SettableClock, body: Callable[[Services], Awaitable[T]]) -> T:
    """`body` against services over a started store; the store is stopped after."""

    async def main() -> T:
        services = make_services(open_store(database.url, clock), clock, SECRET)
        await services.store.start()
        try:
            return await body(services)
        finally:
            await services.store.stop()

    return asyncio.run(main())


async def create(services: Services, **overrides: Any) -> str:
    spec = msgspec.convert(launch_body(**overrides), LaunchSpec, strict=False)
    launch = await services.launches.create(launch_from_spec(spec))
    return launch.slug


def test_an_order_is_placed_replayed_and_read_only_by_its_customer(
    database: Database, clock: SettableClock
) -> None:
    clock.now = T0 + timedelta(seconds=5)

    async def body(services: Services) -> None:
        slug = await create(services)
        placed = await services.orders.place(slug, "ada", "k1", "YU7-MAX", BUYER)
        assert not placed.replayed
        assert placed.order.status is OrderStatus.RESERVED
        assert placed.order.deposit_amount == 5000
        again = await services.orders.place(slug, "ada", "k1", "YU7-MAX", BUYER)
        assert again.replayed
        assert again.order.id == placed.order.id
        with pytest.raises(IdempotencyConflict):
            await services.orders.place(slug, "ada", "k1", "YU7-LTD", BUYER)
        assert services.orders.get(placed.order.id, "ada").id == placed.order.id
        assert services.orders.get(placed.order.id, None).customer == "ada"  # staff
        with pytest.raises(NotFound):
            services.orders.get(placed.order.id, "eve")
        with pytest.raises(NotFound):
            await services.orders.cancel(placed.order.id, "eve")
        assert services.orders.get(placed.order.id, "ada").status is OrderStatus.RESERVED

    run(database, clock, body)
    assert database.scalar("SELECT count(*) FROM orders") == 1


def test_lock_and_cancel_follow_the_lifecycle_and_leave_an_audit_trail(
    database: Database, clock: SettableClock
) -> None:
    clock.now = T0 + timedelta(seconds=5)

    async def body(services: Services) -> None:
        slug = await create(services, per_customer_limit=2)
        first = (await services.orders.place(slug, "ada", "k1", "YU7-MAX", None)).order
        second = (await services.orders.place(slug, "ada", "k2", "YU7-MAX", None)).order
        assert (await services.orders.lock(first.id, "ada")).status is OrderStatus.LOCKED
        with pytest.raises(Locked):
            await services.orders.cancel(first.id, "ada")
        cancelled = await services.orders.cancel(second.id, "ada")
        assert cancelled.status is OrderStatus.CANCELLED
        assert cancelled.refund_amount == 5000
        # A retry of a change already made is no new change.
        assert (await services.orders.cancel(second.id, "ada")).status is OrderStatus.CANCELLED
        with pytest.raises(AlreadyCancelled):
            await services.orders.lock(second.id, "ada")
        _, events = services.orders.history(second.id, "ada")
        assert [(e.status, e.by) for e in events] == [
            (OrderStatus.RESERVED, "customer"),
            (OrderStatus.CANCELLED, "customer"),
        ]
        # The window's end shows in the history once passed, without a write.
        clock.advance(hours=169)
        _, events = services.orders.history(first.id, "ada")
        assert [e.status for e in events] == [OrderStatus.RESERVED, OrderStatus.LOCKED]

    run(database, clock, body)


def test_a_limited_run_is_never_oversold_and_a_cancellation_returns_its_unit(
    database: Database, clock: SettableClock
) -> None:
    clock.now = T0 + timedelta(seconds=1)
    variants = launch_body()["variants"]
    variants[1] = {**variants[1], "stock": 7, "deposit": {"amount": 100, "refundable_hours": 1}}

    async def body(services: Services) -> None:
        slug = await create(services, variants=variants)
        outcomes = await asyncio.gather(
            *(services.orders.place(slug, f"c{i}", "k", "YU7-LTD", None) for i in range(40)),
            return_exceptions=True,
        )
        placed = [o for o in outcomes if not isinstance(o, BaseException)]
        refused = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(placed) == 7
        assert refused
        assert all(isinstance(r, SoldOut) for r in refused)
        await services.orders.cancel(placed[0].order.id, placed[0].order.customer)
        assert services.launches.state(slug).variants["YU7-LTD"].live == 6
        late = await services.orders.place(slug, "late", "k", "YU7-LTD", None)
        assert late.order.sku == "YU7-LTD"
        with pytest.raises(SoldOut):
            await services.orders.place(slug, "later", "k", "YU7-LTD", None)

    run(database, clock, body)


def test_the_per_customer_limit_and_the_opening_are_enforced(
    database: Database, clock: SettableClock
) -> None:
    clock.now = T0 - timedelta(seconds=1)

    async def body(services: Services) -> None:
        slug = await create(services)
        with pytest.raises(NotOpen):
            await services.orders.place(slug, "ada", "k1", "YU7-MAX", None)
        clock.advance(seconds=2)
        await services.orders.place(slug, "ada", "k1", "YU7-MAX", None)
        with pytest.raises(LimitReached):
            await services.orders.place(slug, "ada", "k2", "YU7-MAX", None)
        with pytest.raises(AlreadyExists):
            await create(services)
        with pytest.raises(NotFound):
            await services.orders.place("no-such-launch", "ada", "k3", "YU7-MAX", None)

    run(database, clock, body)
    assert database.scalar("SELECT count(*) FROM orders") == 1


def test_interest_is_registered_once_per_customer(database: Database, clock: SettableClock) -> None:
    async def body(services: Services) -> None:
        slug = await create(services, interest_opens_at="2026-11-01T00:00:00Z")
        clock.now = T0 - timedelta(days=1)
        interest, created = await services.interest.register(slug, "ada", BUYER)
        assert created
        assert interest.customer == "ada"
        again, created = await services.interest.register(slug, "ada", BUYER)
        assert not created
        assert again.registered_at == interest.registered_at
        records = [(f"bulk-{i}", T0 - timedelta(days=2), BUYER) for i in range(50)]
        assert await services.interest.import_all(slug, records) == 50
        assert services.launches.state(slug).interest == 51

    run(database, clock, body)


def test_the_waiting_room_admits_in_order_and_orders_need_its_token(
    database: Database, clock: SettableClock
) -> None:
    clock.now = T0 + timedelta(seconds=1)
    admission = {"rate_per_second": 1, "token_ttl_seconds": 60}

    async def body(services: Services) -> None:
        slug = await create(services, admission=admission)
        tickets = [(await services.waiting_rooms.join(slug, f"c{i}"))[0] for i in range(5)]
        again, created = await services.waiting_rooms.join(slug, "c0")
        assert not created
        assert again.ticket == tickets[0].ticket
        with pytest.raises(AdmissionRequired):
            await services.orders.place(slug, "c0", "k", "YU7-MAX", None)
        clock.advance(seconds=2.5)
        readings = [services.waiting_rooms.read(slug, t.ticket, t.customer) for t in tickets]
        admitted = [r for r in readings if r.admission_token is not None]
        assert [r.ticket.customer for r in admitted] == ["c0", "c1"]
        assert [r.view.position for r in readings[2:]] == [1, 2, 3]
        with pytest.raises(NotFound):
            services.waiting_rooms.read(slug, tickets[0].ticket, "eve")
        token = admitted[0].admission_token
        with pytest.raises(AdmissionRequired):
            await services.orders.place(slug, "c1", "k", "YU7-MAX", None, token)
        placed = await services.orders.place(slug, "c0", "k", "YU7-MAX", None, token)
        assert placed.order.customer == "c0"
        paused = await services.waiting_rooms.change(slug, None, True)
        clock.advance(seconds=10)
        snapshot = services.waiting_rooms.snapshot(slug)
        assert snapshot is not None
        assert snapshot.admitted == paused.admitted

    run(database, clock, body)
