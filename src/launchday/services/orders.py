"""Orders: placed through the order book, read by their customer, locked or cancelled.

Each write is a plain function run by the store's writer inside a group-committed
transaction: it reads what it needs in one call, lets the domain decide, then writes.
The wall clock is read only through the injected `clock`; the domain gets `now`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime

import msgspec

from launchday.domain.errors import DomainError, NotFound, NotPaid
from launchday.domain.launch import Launch
from launchday.domain.ledger import TransferKind
from launchday.domain.lifecycle import OrderStatus, transition
from launchday.domain.order import ONLINE, Channel, Order, OrderEvent, Origin, Profile
from launchday.domain.order_book import Replay, decide
from launchday.domain.payment import Payment, PaymentStatus
from launchday.services.ids import new_id
from launchday.services.launches import Launches
from launchday.services.payments import Payments
from launchday.services.ports.orders import ORDER_BOOK
from launchday.services.ports.orders import customer as customer_lock
from launchday.services.ports.store import WriteScope, WriteTx
from launchday.services.waiting_room import WaitingRooms


@dataclass(frozen=True, slots=True)
class Placed:
    """The outcome of placing an order: the order, and whether this was a replay."""

    order: Order
    replayed: bool
    payment: Payment | None = None  # a new order's, for a launch with payments


def actor_of(origin: Origin) -> str:
    """Who placed an order, as its trail names them."""
    return "customer" if origin.staff is None else f"staff {origin.staff}"


def placed_detail(origin: Origin) -> str:
    if origin.store is None:
        return "placed" if origin.channel is Channel.APP else f"placed ({origin.channel})"
    return f"placed at store {origin.store}"


def new_order_id() -> str:
    """An unguessable order id (96 random bits behind a time prefix: launchday.services.ids)."""
    return new_id()


def request_hash(sku: str, profile: Profile | None) -> bytes:
    """What an idempotent replay must match: the order body, canonically encoded."""
    return hashlib.blake2b(msgspec.json.encode([sku, profile]), digest_size=16).digest()


class Orders:
    """The order books of every launch in one store."""

    def __init__(self, launches: Launches, rooms: WaitingRooms, payments: Payments) -> None:
        self.launches = launches
        self.rooms = rooms
        self.payments = payments
        self.store = launches.store
        self.clock = launches.clock
        self.new_id = new_order_id
        self._last_launch: str | None = None  # of the last order placed or changed here

    async def place(
        self,
        slug: str,
        customer: str,
        key: str,
        sku: str,
        profile: Profile | None,
        admission_token: str | None = None,
        origin: Origin = ONLINE,
    ) -> Placed:
        """Place the customer's order of `sku` under idempotency `key`, or replay the one
        the key placed before; refusals are domain errors. `origin`: where it is placed
        (a store's staff for a walk-in buyer, with every check of the online path)."""
        launch = self.launches.get(slug)
        launch.variant(sku)
        now = self.clock()
        # Refuse early without queueing; the writer checks again at its own time.
        launch.check_orders_open(now)
        self.rooms.check(launch, customer, admission_token, now)
        digest = request_hash(sku, profile)
        order_id = self.new_id()
        # The variants sharing a quota with this one: what the order book must count.
        skus = {s for quota in launch.quotas_of(sku) for s in quota.skus}
        by, placed = actor_of(origin), placed_detail(origin)

        def place(tx: WriteTx, now: datetime) -> Placed:
            at = launch.clock(now)
            decision = decide(launch, sku, digest, tx.order_book(slug, customer, key, skus), at)
            if isinstance(decision, Replay):
                return Placed(decision.order, replayed=True)
            terms = decision.terms
            order = tx.insert_order(slug, customer, key, digest, order_id, terms, profile, origin)
            if terms.status is OrderStatus.PENDING_PAYMENT:
                payment = self.payments.new_payment(launch, order)
                tx.insert_payment(order, payment)
                tx.record_event(order, terms.status, terms.placed_at, by, placed)
                return Placed(order, replayed=False, payment=payment)
            tx.record_event(order, OrderStatus.RESERVED, terms.placed_at, by, placed)
            if terms.status is OrderStatus.LOCKED:
                tx.record_event(
                    order, OrderStatus.LOCKED, terms.placed_at, "window", "no cooling-off window"
                )
            return Placed(order, replayed=False)

        scope = WriteScope(slug, (customer_lock(customer), ORDER_BOOK))
        outcome: Placed = await self.store.write(place, scope)
        self._last_launch = slug
        return outcome

    def get(self, order_id: str, customer: str | None, launch: str | None = None) -> Order:
        """The order, if `customer` owns it (None: staff, who may be bound to one
        `launch`); otherwise NotFound, never a hint."""
        order = self.store.reads.order(order_id)
        if (
            order is None
            or (customer is not None and order.customer != customer)
            or (launch is not None and order.launch != launch)
        ):
            raise NotFound(f"no order {order_id!r}", field="id")
        return order

    def history(
        self, order_id: str, customer: str | None, launch: str | None = None
    ) -> tuple[Order, list[OrderEvent]]:
        """The order's audit trail, including the lock at the end of its window once passed."""
        order = self.get(order_id, customer, launch)
        events = self.store.reads.order_events(order_id)
        at = self.launches.get(order.launch).clock(self.clock())
        if order.status is OrderStatus.RESERVED and at >= order.refundable_until:
            events.append(
                OrderEvent(order.refundable_until, OrderStatus.LOCKED, "window", "window ended")
            )
        return order, events

    async def lock(self, order_id: str, customer: str) -> Order:
        """Lock the customer's order early: no longer refundable."""
        return await self._change(order_id, customer, OrderStatus.LOCKED)

    async def cancel(self, order_id: str, customer: str, by: str = "customer") -> Order:
        """Cancel the customer's order inside its window, refunding the deposit (`by`:
        who asked, for the trail: the customer, or a store's staff member for them)."""
        return await self._change(order_id, customer, OrderStatus.CANCELLED, by)

    async def _change(
        self, order_id: str, customer: str, target: OrderStatus, by: str = "customer"
    ) -> Order:
        # The launch the write locks for is the one this process last took an order of
        # (on a launch night, the night's), checked in the write against the order's
        # own; a point read first would cost a lock about a sixth of its CPU (measured:
        # 73-78 us per lock with it, 63-64 without). Another launch's order is read first.
        guess = self._last_launch
        if guess is not None:
            try:
                return await self._change_in(
                    self.launches.get(guess), order_id, customer, target, by
                )
            except _OfAnotherLaunch:
                pass
        owner = self.store.reads.order_owner(order_id)
        if owner is None or owner[1] != customer:
            raise NotFound(f"no order {order_id!r}", field="id")
        return await self._change_in(self.launches.get(owner[0]), order_id, customer, target, by)

    async def _change_in(
        self, launch: Launch, order_id: str, customer: str, target: OrderStatus, by: str
    ) -> Order:
        def change(tx: WriteTx, now: datetime) -> Order:
            order = tx.order(order_id)
            if order is None or order.customer != customer:
                raise NotFound(f"no order {order_id!r}", field="id")
            if order.launch != launch.slug:  # refused before any write, as a refusal is
                raise _OfAnotherLaunch(order.launch)
            at = launch.clock(now)
            current = order.status_at(at)
            if current is OrderStatus.PENDING_PAYMENT and target is OrderStatus.LOCKED:
                raise NotPaid("the deposit is not paid yet: pay it first", field="id")
            if not transition(current, target):
                return order  # a retry of a change already made
            payment = tx.payment(order) if launch.payments is not None else None
            paid = payment is not None and payment.status is PaymentStatus.SUCCEEDED
            refund = None
            if target is OrderStatus.CANCELLED and (payment is None or paid):
                refund = order.deposit_amount
            changed = tx.set_status(order, target, at, refund)
            if paid and payment is not None:
                _move_deposit(tx, order, target, payment, at)
            elif payment is not None:  # cancelled before paying: nothing to give back
                tx.set_payment(order, replace(payment, status=PaymentStatus.CANCELED))
            detail = f"refund {refund} {launch.currency}" if refund is not None else None
            if detail is None:
                detail = "early lock" if target is OrderStatus.LOCKED else "cancelled unpaid"
            tx.record_event(changed, target, at, by, detail)
            return changed

        changed: Order = await self.store.write(
            change, WriteScope(launch.slug, (customer_lock(customer),))
        )
        self._last_launch = launch.slug
        return changed


class _OfAnotherLaunch(DomainError):
    """The order a change was sent for belongs to another launch than the one guessed:
    the write refused it untouched, and the change is made again under its own."""


def _move_deposit(
    tx: WriteTx, order: Order, target: OrderStatus, payment: Payment, at: datetime
) -> None:
    """A paid deposit's transfers when its order locks early or is cancelled: the
    window's scheduled lock moved to now, or withdrawn and the deposit owed back."""
    if target is OrderStatus.LOCKED:
        tx.move_transfer(order, TransferKind.LOCKED, at)
        return
    tx.withdraw_transfer(order, TransferKind.LOCKED)
    tx.add_transfer(order, TransferKind.CANCELLED, payment.amount_minor, at)
    tx.owe_refund(order, payment.amount_minor, at)
