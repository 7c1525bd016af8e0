"""A rehearsal's stores (a scenario's `[retail]`, docs/scenarios.md): the generated
network put on the server, a key for the staff of every sales store, the share of the
crowd's orders that store staff place for walk-in buyers, and test drives booked before
the opening (by registered buyers) and after the replay (by buyers who ordered).

Who does what is drawn before the rehearsal starts, from the seed, as the crowd is: the
same seed gives the same walk-ins and the same test drives. Test drives are booked in
the stores' coming days (real time), each in the first slot of its day with room.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from launchday.sim.customers import Event, SimCustomer
from launchday.sim.driver import LoadDriver
from launchday.sim.scenario import Scenario
from launchday.sim.store_network import GeneratedStore, generate_network

# Requests of the stores' set-up and the test drives in flight at once: beside the
# replay's own connections, not competing with them.
CONCURRENCY = 8
DRIVE_DAYS = 3  # a buyer takes the first day with room of the next three


@dataclass(frozen=True, slots=True)
class TestDrive:
    """A buyer's test drive to book: at which store, of which variant."""

    customer: str
    store: str
    sku: str


@dataclass(frozen=True, slots=True)
class RetailPlan:
    """What the stores do in a rehearsal, drawn before it starts."""

    network: list[GeneratedStore]
    walk_ins: dict[str, str]  # customer -> the sales store whose staff place the order
    before: list[TestDrive]  # booked before the opening
    after: list[TestDrive]  # booked once the replay is over


@dataclass(slots=True)
class RetailOutcome:
    """What the stores did, as the server answered."""

    stores: int = 0
    cities: int = 0
    staff_keys: int = 0
    walk_ins: int = 0
    booked_before: int = 0
    booked_after: int = 0
    refused: Counter[str] = field(default_factory=Counter)


def plan_retail(scenario: Scenario, events: Sequence[Event], seed: int) -> RetailPlan | None:
    """The stores' part of a rehearsal of `scenario` whose crowd does `events`."""
    retail = scenario.retail
    if retail is None:
        return None
    skus = [v.sku for v in scenario.variants]
    network = generate_network(retail, skus)
    sales = [s for s in network if s.kind == "sales"]
    draw = random.Random(f"retail-{seed}")
    buyers = list({e.customer.id: e.customer for e in events if e.kind == "order"}.values())
    walk_ins = {
        c.id: draw.choice(sales).id for c in buyers if draw.random() < retail.store_order_share
    }
    drivers = [c for c in buyers if draw.random() < retail.test_drive_share]
    before: list[TestDrive] = []
    after: list[TestDrive] = []
    for customer in drivers:
        drive = TestDrive(customer.id, draw.choice(sales).id, _sku_of(customer, skus))
        early = customer.registered_at is not None and draw.random() < retail.before_opening_share
        (before if early else after).append(drive)
    return RetailPlan(network, walk_ins, before, after)


def _sku_of(customer: SimCustomer, skus: Sequence[str]) -> str:
    return customer.order.sku if customer.order is not None else skus[0]


async def open_stores(
    driver: LoadDriver, plan: RetailPlan, admin: dict[str, str], outcome: RetailOutcome
) -> None:
    """Put the network on the server and give each sales store's staff a key; the crowd's
    walk-ins then order through their store (`LoadDriver.walk_ins`)."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def put(store: GeneratedStore) -> None:
        async with gate:
            status, answer = await driver.request(
                "PUT", f"/api/v1/stores/{store.id}", body=store.body, headers=admin
            )
        if status != 200:
            raise RuntimeError(f"the server refused the store {store.id}: {status} {answer}")
        outcome.stores += 1

    await asyncio.gather(*(put(store) for store in plan.network))
    outcome.cities = len({store.city for store in plan.network})
    keys: dict[str, str] = {}

    async def key_for(store: str) -> None:
        body = {"name": f"staff-{store}", "role": "store", "store": store}
        async with gate:
            status, answer = await driver.request("POST", "/api/v1/keys", body=body, headers=admin)
        if status == 409:  # kept from an earlier rehearsal on this database
            body["name"] = f"staff-{store}-{datetime.now(UTC):%H%M%S%f}"
            status, answer = await driver.request("POST", "/api/v1/keys", body=body, headers=admin)
        if status != 201:
            raise RuntimeError(f"the server refused a key for {store}: {status} {answer}")
        keys[store] = str(answer["key"])
        outcome.staff_keys += 1

    await asyncio.gather(*(key_for(store) for store in sorted(set(plan.walk_ins.values()))))
    driver.walk_ins = {customer: (store, keys[store]) for customer, store in plan.walk_ins.items()}
    outcome.walk_ins = len(plan.walk_ins)


async def book_test_drives(
    driver: LoadDriver, slug: str, drives: Sequence[TestDrive], outcome: RetailOutcome
) -> int:
    """Book (hold, then confirm) each test drive in its store's first slot with room over
    the next days; how many were confirmed. Refusals are counted by code."""
    gate = asyncio.Semaphore(CONCURRENCY)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()

    async def book(drive: TestDrive) -> bool:
        me = {"Authorization": driver.bearer(drive.customer)}
        async with gate:
            status, listed = await driver.request(
                "GET",
                f"/api/v1/launches/{slug}/stores/{drive.store}/test-drive-slots"
                f"?sku={drive.sku}&from={tomorrow}&days={DRIVE_DAYS}",
            )
            if status != 200:
                return _refused(outcome, "slots", listed)
            free = [slot for slot in listed["slots"] if slot["free"] > 0]
            if not free:
                outcome.refused["no free slot"] += 1
                return False
            body = {"store": drive.store, "sku": drive.sku, "start": free[0]["start"]}
            status, held = await driver.request(
                "POST", f"/api/v1/launches/{slug}/test-drives", body=body, headers=me
            )
            if status not in (200, 201):
                return _refused(outcome, "hold", held)
            status, confirmed = await driver.request(
                "POST", f"/api/v1/test-drives/{held['id']}/confirm", headers=me
            )
            if status != 200:
                return _refused(outcome, "confirm", confirmed)
        return True

    return sum(await asyncio.gather(*(book(drive) for drive in drives)))


class RehearsalStores:
    """The stores' steps of one rehearsal (none when its scenario has no [retail])."""

    def __init__(
        self, plan: RetailPlan | None, driver: LoadDriver, slug: str, admin: dict[str, str]
    ) -> None:
        self.plan = plan
        self.driver = driver
        self.slug = slug
        self.admin = admin
        self.outcome = None if plan is None else RetailOutcome()

    @property
    def active(self) -> bool:
        return self.plan is not None

    async def open(self) -> None:
        if self.plan is not None and self.outcome is not None:
            await open_stores(self.driver, self.plan, self.admin, self.outcome)

    async def book_before(self) -> None:
        if self.plan is not None and self.outcome is not None:
            self.outcome.booked_before = await book_test_drives(
                self.driver, self.slug, self.plan.before, self.outcome
            )

    async def book_after(self) -> None:
        if self.plan is not None and self.outcome is not None:
            self.outcome.booked_after = await book_test_drives(
                self.driver, self.slug, self.plan.after, self.outcome
            )


def _refused(outcome: RetailOutcome, step: str, answer: Any) -> bool:
    code = answer.get("error", {}).get("code", "unexpected") if isinstance(answer, dict) else "?"
    outcome.refused[f"{step}:{code}"] += 1
    return False
