"""A burst of buyers through the cluster's balancer, for the failover tests
(tests/test_cluster_failover.py).

Each buyer is a loop of customers. A customer first joins the waiting room of one
launch (paused, so a ticket's position is its place in the join order and must never
move), then places three orders at once on another launch, each with its own
Idempotency-Key, as one person tapping on two phones would: the launch's limit is two,
so the third must be refused however the three land on the API hosts. Some orders ask
for the limited edition, whose stock is small enough to run out mid-burst.

A request answered 502, 503 or 504, or lost on the way, is sent again with the same key
(after Retry-After, capped so that the test stays short) until it gets an answer that
ends it or the drain time after the stop runs out. Every answer is recorded with its
time on the burst's clock (`time.monotonic()`), so the test can say when writes stopped
and started again, and check each 201 against the database.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support import customer_token

RETRYABLE = frozenset({502, 503, 504})
# Retry-After is honoured up to this many seconds: launchday and HAProxy say 1 or 2 s, a
# buyer's app might wait longer, the test need not.
RETRY_CAP_SECONDS = 1.0
# A connection refused or reset: the buyer's app tries again after this long.
ERROR_PAUSE_SECONDS = 0.2
ORDERS_PER_CUSTOMER = 3
PER_CUSTOMER_LIMIT = 2
MAX_SKU = "YU7-MAX"
LIMITED_SKU = "YU7-LTD"


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """An order answered 201 (or its replay): what the buyer was told is theirs."""

    order_id: str
    customer: str
    key: str
    sku: str
    at: float
    replayed: bool


@dataclass(frozen=True, slots=True)
class Joined:
    """A waiting-room ticket as its customer was told it."""

    customer: str
    ticket: str
    position: int
    at: float


@dataclass(frozen=True, slots=True)
class Gap:
    """The longest stretch without a new order acknowledged, from the last 201 before
    the fault."""

    last_before: float
    first_after: float

    @property
    def seconds(self) -> float:
        return self.first_after - self.last_before


@dataclass
class Tally:
    """Everything the buyers were told."""

    started: float = field(default_factory=time.monotonic)
    acknowledged: list[Acknowledged] = field(default_factory=list)
    joined: dict[str, Joined] = field(default_factory=dict)
    sent: set[tuple[str, str, str]] = field(default_factory=set)
    """(customer, key, sku) of every order sent at least once."""
    answers: Counter[str] = field(default_factory=Counter)
    """Each answer by status (`503`, `201`...), `error` for a request lost on the way."""
    refusals: Counter[str] = field(default_factory=Counter)
    """4xx answers by error code (`limit_reached`, `sold_out`)."""
    unavailable_without_retry_after: int = 0
    unexpected: list[str] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)
    """Requests still without an answer that ends them when the drain time ran out."""
    retried_then_acknowledged: int = 0

    def new_orders(self) -> list[Acknowledged]:
        return sorted((a for a in self.acknowledged if not a.replayed), key=lambda a: a.at)

    def acknowledged_since(self, moment: float) -> int:
        return sum(1 for a in self.acknowledged if not a.replayed and a.at > moment)

    def gap_after(self, fault_at: float) -> Gap:
        """The longest time between two new orders' 201s from the last one before
        `fault_at` on (the fault's time without writes)."""
        times = [a.at for a in self.new_orders()]
        before = [t for t in times if t <= fault_at]
        after = [t for t in times if t > fault_at]
        if not before or not after:
            raise AssertionError(f"no 201 before or after the fault ({len(times)} in all)")
        points = [before[-1], *after]
        widest = max(range(len(points) - 1), key=lambda i: points[i + 1] - points[i])
        return Gap(points[widest] - self.started, points[widest + 1] - self.started)

    def summary(self) -> str:
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(self.answers.items()))
        refusals = ", ".join(f"{k}: {v}" for k, v in sorted(self.refusals.items()))
        return (
            f"{len(self.new_orders())} orders acknowledged, {len(self.joined)} tickets;"
            f" answers {answers}; refusals {refusals};"
            f" {self.retried_then_acknowledged} acknowledged after a retry"
        )


class Burst:
    """Buyers ordering through `base_url` until told to stop (see the module)."""

    def __init__(
        self,
        base_url: str,
        slug: str,
        room_slug: str,
        *,
        buyers: int = 12,
        limited_share: float = 0.15,
        pause_seconds: float = 0.05,
        seed: int = 7,
    ) -> None:
        self.base_url = base_url
        self.slug = slug
        self.room_slug = room_slug
        self.buyers = buyers
        self.limited_share = limited_share
        self.pause_seconds = pause_seconds
        self.random = random.Random(seed)
        self.tally = Tally()
        self.stopped = asyncio.Event()
        self.drain_deadline = float("inf")
        self._customers = 0

    async def run(self, stop: asyncio.Event, drain_seconds: float) -> Tally:
        """Buy until `stop` is set, then finish each customer under way (retrying for
        at most `drain_seconds` more)."""
        limits = httpx.Limits(max_connections=self.buyers * ORDERS_PER_CUSTOMER)
        # Longer than HAProxy's `timeout server` (15 s): its 504 comes first.
        timeout = httpx.Timeout(20.0, connect=3.0)
        async with httpx.AsyncClient(
            base_url=self.base_url, limits=limits, timeout=timeout
        ) as client:

            async def stopping() -> None:
                await stop.wait()
                self.drain_deadline = time.monotonic() + drain_seconds
                self.stopped.set()

            watcher = asyncio.create_task(stopping())
            await asyncio.gather(*(self._buyer(client) for _ in range(self.buyers)))
            await watcher
        return self.tally

    async def wait_for_orders(self, count: int, since: float, timeout: float) -> bool:
        """Whether `count` new orders were acknowledged after `since` within `timeout` s."""
        deadline = time.monotonic() + timeout
        while self.tally.acknowledged_since(since) < count:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.1)
        return True

    async def _buyer(self, client: httpx.AsyncClient) -> None:
        while not self.stopped.is_set():
            self._customers += 1
            customer = f"{self.slug}-c{self._customers:05d}"
            token = customer_token(customer)
            await self._join(client, customer, token)
            skus = [
                LIMITED_SKU if self.random.random() < self.limited_share else MAX_SKU
                for _ in range(ORDERS_PER_CUSTOMER)
            ]
            await asyncio.gather(
                *(self._order(client, customer, token, f"k{n}", sku) for n, sku in enumerate(skus))
            )
            await asyncio.sleep(self.pause_seconds)

    async def _join(self, client: httpx.AsyncClient, customer: str, token: str) -> None:
        path = f"/api/v1/launches/{self.room_slug}/queue"
        headers = {"Authorization": f"Bearer {token}"}
        answer = await self._send(client, path, headers, None, f"join {customer}")
        if answer is None:
            return
        response, _ = answer
        if response.status_code not in (200, 201):
            self.tally.unexpected.append(f"join {customer}: {response.status_code} {response.text}")
            return
        body = response.json()
        self.tally.joined[customer] = Joined(
            customer, body["ticket"], int(body["position"]), time.monotonic()
        )

    async def _order(
        self, client: httpx.AsyncClient, customer: str, token: str, key: str, sku: str
    ) -> None:
        self.tally.sent.add((customer, key, sku))
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        path = f"/api/v1/launches/{self.slug}/orders"
        answer = await self._send(client, path, headers, {"sku": sku}, f"order {customer} {key}")
        if answer is None:
            return
        response, tries = answer
        if response.status_code in (200, 201):
            body = response.json()
            replayed = response.headers.get("idempotent-replayed") == "true"
            self.tally.acknowledged.append(
                Acknowledged(body["id"], customer, key, body["sku"], time.monotonic(), replayed)
            )
            if tries > 1:
                self.tally.retried_then_acknowledged += 1
        elif response.status_code == 409:
            self.tally.refusals[response.json()["error"]["code"]] += 1
        else:
            self.tally.unexpected.append(
                f"order {customer} {key}: {response.status_code} {response.text}"
            )

    async def _send(
        self,
        client: httpx.AsyncClient,
        path: str,
        headers: dict[str, str],
        body: dict[str, Any] | None,
        label: str,
    ) -> tuple[httpx.Response, int] | None:
        """POST until an answer that is not 502/503/504 comes; it and the tries it took,
        or None when the drain time ran out first."""
        tries = 0
        while True:
            tries += 1
            try:
                response = await client.post(path, headers=headers, json=body)
            except httpx.TransportError:
                self.tally.answers["error"] += 1
                pause = ERROR_PAUSE_SECONDS
            else:
                self.tally.answers[str(response.status_code)] += 1
                if response.status_code not in RETRYABLE:
                    return response, tries
                retry_after = response.headers.get("retry-after")
                if response.status_code == 503 and retry_after is None:
                    self.tally.unavailable_without_retry_after += 1
                pause = min(float(retry_after or RETRY_CAP_SECONDS), RETRY_CAP_SECONDS)
            if time.monotonic() + pause > self.drain_deadline:
                self.tally.gave_up.append(label)
                return None
            await asyncio.sleep(pause)
