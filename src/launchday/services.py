"""Use cases: what customers and admins can do, over the storage ports.

Each write is a plain function run by the store's writer inside a group-committed
transaction: it checks everything first (raising a DomainError), then writes. The
wall clock is read only here, through the injected `clock`; the domain gets `now`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import msgspec

from launchday.admission_tokens import AdmissionTokens
from launchday.domain import quota
from launchday.domain.admission import QueueSnapshot
from launchday.domain.errors import IdempotencyConflict, NotFound
from launchday.domain.interest import Interest
from launchday.domain.launch import Launch
from launchday.domain.lifecycle import OrderStatus, transition
from launchday.domain.order import Order, OrderEvent, Profile, terms_for
from launchday.ids import new_id
from launchday.schemas import LaunchSpec, launch_from_spec
from launchday.store.ports import Store, Touches, WriteTx
from launchday.waiting_rooms import WaitingRooms, new_seed


@dataclass(frozen=True, slots=True)
class Placed:
    """The outcome of placing an order: the order, and whether this was a replay."""

    order: Order
    replayed: bool


@dataclass(frozen=True, slots=True)
class VariantTally:
    placed: int
    cancelled: int

    @property
    def live(self) -> int:
        return self.placed - self.cancelled


@dataclass(frozen=True, slots=True)
class LaunchState:
    """A launch with its live counts, as of `now` (real) and `at` (launch time)."""

    launch: Launch
    at: datetime
    is_open: bool
    variants: dict[str, VariantTally]
    interest: int


def new_order_id() -> str:
    """An unguessable order id (96 random bits behind a time prefix: launchday.ids)."""
    return new_id()


def request_hash(sku: str, profile: Profile | None) -> bytes:
    """What an idempotent replay must match: the order body, canonically encoded."""
    return hashlib.blake2b(msgspec.json.encode([sku, profile]), digest_size=16).digest()


class LaunchService:
    """The use cases, over one store and one clock."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        secret: bytes,
        new_id: Callable[[], str] = new_order_id,
    ) -> None:
        self.store = store
        self.clock = clock
        self._new_id = new_id
        # Launches are immutable once created, so a cached one never goes stale.
        self._launches: dict[str, Launch] = {}
        self.rooms = WaitingRooms(store, clock, AdmissionTokens(secret), self.launch)

    # --- launches --------------------------------------------------------------------

    async def create_launch(self, spec: LaunchSpec) -> Launch:
        launch = launch_from_spec(spec)
        encoded = msgspec.json.encode(spec)

        seed = new_seed() if launch.admission is not None else None

        def create(tx: WriteTx, now: datetime) -> None:
            tx.insert_launch(launch, encoded, now)
            if seed is not None:
                tx.create_waiting_room(launch.slug, seed)

        # Both of the new launch's locks: a second creation of the slug waits, then sees it.
        await self.store.write(create, Touches(launch.slug, order_book=True, queue=True))
        self._launches[launch.slug] = launch
        return launch

    def launch(self, slug: str) -> Launch:
        """The launch with this slug, or NotFound."""
        found = self._launches.get(slug)
        if found is None:
            spec = self.store.reader.launch_spec(slug)
            if spec is None:
                raise NotFound(f"no launch {slug!r}", field="slug")
            found = self._launches[slug] = launch_from_spec(
                msgspec.json.decode(spec, type=LaunchSpec)
            )
        return found

    def launches(self) -> list[Launch]:
        return [self.launch(slug) for slug in self.store.reader.launch_slugs()]

    def launch_state(self, slug: str) -> LaunchState:
        launch = self.launch(slug)
        now = self.clock()
        counts = self.store.reader.variant_counts(slug)
        return LaunchState(
            launch=launch,
            at=launch.clock(now),
            is_open=now >= launch.opens_at,
            variants={sku: VariantTally(*pair) for sku, pair in counts.items()},
            interest=self.store.reader.interest_count(slug),
        )

    def queue_snapshot(self, slug: str) -> QueueSnapshot | None:
        """The waiting room's figures, or None for a launch without one."""
        return self.rooms.snapshot(slug)

    # --- interest --------------------------------------------------------------------

    async def register_interest(
        self, slug: str, customer: str, profile: Profile
    ) -> tuple[Interest, bool]:
        launch = self.launch(slug)
        launch.check_interest_open(self.clock())

        def register(tx: WriteTx, now: datetime) -> tuple[Interest, bool]:
            launch.check_interest_open(now)
            return tx.register_interest(slug, customer, launch.clock(now), profile)

        return await self.store.write(register, Touches(slug, customer=customer))

    async def import_interest(self, slug: str, records: list[tuple[str, datetime, Profile]]) -> int:
        """Bulk registrations with their own times (launch time); returns how many were new."""
        self.launch(slug)

        def import_all(tx: WriteTx, now: datetime) -> int:
            return tx.import_interest(slug, records)

        # No lock: the import is one upsert, whose row locks are taken in customer order.
        return await self.store.write(import_all, Touches(slug))

    # --- orders ----------------------------------------------------------------------

    async def place_order(
        self,
        slug: str,
        customer: str,
        key: str,
        sku: str,
        profile: Profile | None,
        admission_token: str | None = None,
    ) -> Placed:
        launch = self.launch(slug)
        launch.variant(sku)
        now = self.clock()
        # Refuse early without queueing; the writer checks again at its own time.
        launch.check_orders_open(now)
        self.rooms.check(launch, customer, admission_token, now)
        digest = request_hash(sku, profile)
        order_id = self._new_id()

        def place(tx: WriteTx, now: datetime) -> Placed:
            found = tx.order_by_key(slug, customer, key)
            if found is not None:
                order, stored_digest = found
                if stored_digest != digest:
                    raise IdempotencyConflict(
                        "this Idempotency-Key was used with a different body",
                        field="Idempotency-Key",
                    )
                return Placed(order, replayed=True)
            launch.check_orders_open(now)
            quota.check_customer_limit(
                tx.live_orders_of_customer(slug, customer), launch.per_customer_limit
            )
            variant = launch.variant(sku)
            quota.check_stock(sku, variant.stock, tx.live_orders_of_variant(slug, sku))
            terms = terms_for(launch, sku, launch.clock(now))
            order = tx.insert_order(slug, customer, key, digest, order_id, terms, profile)
            tx.record_event(order, OrderStatus.RESERVED, terms.placed_at, "customer", "placed")
            if terms.status is OrderStatus.LOCKED:
                tx.record_event(
                    order, OrderStatus.LOCKED, terms.placed_at, "window", "no cooling-off window"
                )
            return Placed(order, replayed=False)

        return await self.store.write(place, Touches(slug, customer=customer, order_book=True))

    def order_for(self, order_id: str, customer: str | None) -> Order:
        """The order, if `customer` owns it (None = admin); otherwise NotFound, never a hint."""
        order = self.store.reader.order(order_id)
        if order is None or (customer is not None and order.customer != customer):
            raise NotFound(f"no order {order_id!r}", field="id")
        return order

    def history(self, order_id: str, customer: str | None) -> tuple[Order, list[OrderEvent]]:
        """The order's audit trail, including the lock at the end of its window once passed."""
        order = self.order_for(order_id, customer)
        events = self.store.reader.order_events(order_id)
        at = self.launch(order.launch).clock(self.clock())
        if order.status is OrderStatus.RESERVED and at >= order.refundable_until:
            events.append(
                OrderEvent(order.refundable_until, OrderStatus.LOCKED, "window", "window ended")
            )
        return order, events

    async def lock_order(self, order_id: str, customer: str) -> Order:
        return await self._change(order_id, customer, OrderStatus.LOCKED)

    async def cancel_order(self, order_id: str, customer: str) -> Order:
        return await self._change(order_id, customer, OrderStatus.CANCELLED)

    async def _change(self, order_id: str, customer: str, target: OrderStatus) -> Order:
        known = self.order_for(order_id, customer)
        launch = self.launch(known.launch)

        def change(tx: WriteTx, now: datetime) -> Order:
            order = tx.order(order_id)
            assert order is not None  # orders are never deleted
            at = launch.clock(now)
            if not transition(order.status_at(at), target):
                return order  # a retry of a change already made
            refund = order.deposit_amount if target is OrderStatus.CANCELLED else None
            changed = tx.set_status(order, target, at, refund)
            detail = f"refund {refund} {launch.currency}" if refund is not None else "early lock"
            tx.record_event(changed, target, at, "customer", detail)
            return changed

        return await self.store.write(change, Touches(known.launch, customer=customer))
