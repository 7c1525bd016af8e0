"""The writes of one batch's transaction, written once for SQLite and PostgreSQL.

The two databases hold the same tables (`launchday.store.schema`), so every statement
here serves both; placeholders are written `?` and each adapter spells them its way.
What differs is left to the adapters (`SQLiteWriteTx`, `PostgresWriteTx`): how a
statement runs, how many rows are inserted at once, where an order's sequence comes
from, and how a customer's orders are found fast.

What a batch reads is kept for the rest of the batch and updated by its own writes:
one writer thread (SQLite) or the batch's locks (PostgreSQL) make that safe. New
orders, events and tickets, and the counters, are written once, at the end of the
batch (`flush`), one statement each whatever the batch's size.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from launchday.domain.admission import RateChange
from launchday.domain.clock import from_micros, to_micros
from launchday.domain.errors import AlreadyExists
from launchday.domain.interest import Interest
from launchday.domain.launch import Launch
from launchday.domain.lifecycle import LIVE, OrderStatus
from launchday.domain.order import (
    ONLINE,
    NewOrder,
    Order,
    Origin,
    Profile,
    cancelled_order,
    locked_order,
)
from launchday.domain.order_book import BookSnapshot
from launchday.domain.waiting_room import QueuedTicket, QueueRejoin
from launchday.store.access_tx import AccessTx
from launchday.store.bulk_insert import (
    CANCELLED_AT,
    DELIVERY_CENTRE,
    EVENTS,
    LOCKED_AT,
    ORDERS,
    REFUND,
    STATUS,
    TICKETS,
    BulkInsert,
)
from launchday.store.delivery_tx import DeliveryTx
from launchday.store.launch_codec import encode_launch
from launchday.store.launch_ids import LaunchIds
from launchday.store.payments_tx import PaymentsTx
from launchday.store.retail_tx import RetailTx
from launchday.store.row_mapping import ORDER_COLUMNS, ORDER_SELECT, order_from_row, profile_columns

# A customer's orders in a launch, as a batch knows them: (order, idempotency key, digest).
CustomerOrders = list[tuple[Order, str, bytes]]

CUSTOMER_ORDERS_SQL = (
    f"SELECT {ORDER_COLUMNS}, o.idempotency_key, o.request_hash"
    " FROM orders o JOIN launches l ON l.id = o.launch_id"
    " WHERE o.launch_id = ? AND o.customer = ?"
)


class SqlWriteTx(DeliveryTx, PaymentsTx, AccessTx, RetailTx, ABC):
    """The write operations inside one batch's transaction (see the module)."""

    def __init__(self, ids: LaunchIds) -> None:
        self._ids = ids
        self._customers: dict[tuple[int, str], CustomerOrders] = {}
        self._variant_live: dict[tuple[int, str], int] = {}
        self._counter_deltas: dict[tuple[int, str], list[int]] = {}  # [placed, cancelled]
        self._room_counts: dict[int, list[int]] = {}  # launch id -> [joined, changes]
        self._tickets: dict[tuple[int, str], QueuedTicket | None] = {}
        self._new_orders: list[tuple[Any, ...]] = []
        self._unwritten: dict[int, int] = {}  # sequence -> its row in _new_orders
        self._new_events: list[tuple[Any, ...]] = []
        self._new_tickets: list[tuple[Any, ...]] = []
        self._new_payments = {}

    # --- what each database does its own way -----------------------------------------

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement (placeholders `?`); its cursor."""

    @abstractmethod
    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""

    @abstractmethod
    def insert_all(self, insert: BulkInsert, rows: list[tuple[Any, ...]]) -> None:
        """Insert many rows at once."""

    @abstractmethod
    def next_order_seq(self, launch: str) -> int:
        """The sequence of the next order of `launch` accepted (increasing with
        acceptance time)."""

    @abstractmethod
    def read_customer_orders(self, launch_id: int, customer: str) -> CustomerOrders:
        """The customer's orders in the launch, read from the database."""

    @abstractmethod
    def import_interest(self, launch: str, records: list[tuple[str, datetime, Profile]]) -> int:
        """Upsert registrations (customer, time, profile); return how many were new.

        A customer already registered keeps the earlier time and takes the new profile.
        """

    @abstractmethod
    def noted_order(self, launch_id: int, customer: str) -> None:
        """A new order of the customer's was written (for what the adapter remembers)."""

    # --- the batch's life --------------------------------------------------------------

    def begin(self) -> None:
        """Start a batch: nothing read or deferred yet."""
        self._forget()

    def flush(self) -> None:
        """Write what the batch deferred: new rows, then the counters in key order (two
        batches on one database never wait for each other's counters)."""
        if self._new_tickets:
            self.insert_all(TICKETS, self._new_tickets)
        if self._new_orders:
            self.insert_all(ORDERS, self._new_orders)
        if self._new_events:
            self.insert_all(EVENTS, self._new_events)
        if self._new_payments:
            self.flush_payments()
        if self._counter_deltas:
            self.execute_many(
                "UPDATE variants SET placed = placed + ?, cancelled = cancelled + ?"
                " WHERE launch_id = ? AND sku = ?",
                [
                    (placed, cancelled, launch_id, sku)
                    for (launch_id, sku), (placed, cancelled) in sorted(
                        self._counter_deltas.items()
                    )
                ],
            )
        if self._room_counts:
            self.execute_many(
                "UPDATE waiting_rooms SET joined = ?, changes = ? WHERE launch_id = ?",
                [
                    (joined, changes, launch_id)
                    for launch_id, (joined, changes) in sorted(self._room_counts.items())
                ],
            )
        self._forget()

    def discard(self) -> None:
        """Forget what a rolled-back batch read, deferred and counted."""
        self._forget()

    def _forget(self) -> None:
        self._customers.clear()
        self._variant_live.clear()
        self._counter_deltas.clear()
        self._room_counts.clear()
        self._tickets.clear()
        self._new_orders.clear()
        self._unwritten.clear()
        self._new_events.clear()
        self._new_tickets.clear()
        self._new_payments.clear()

    def launch_id(self, slug: str) -> int:
        return self._ids.require(slug, self._lookup_launch)

    def _lookup_launch(self, slug: str) -> int | None:
        row = self.execute("SELECT id FROM launches WHERE slug = ?", (slug,)).fetchone()
        return None if row is None else int(row[0])

    # --- launches ----------------------------------------------------------------------

    def insert_launch(self, launch: Launch, at: datetime) -> None:
        """Store a new launch (AlreadyExists if the slug is taken)."""
        if self._ids.get(launch.slug, self._lookup_launch) is not None:
            raise AlreadyExists(f"a launch {launch.slug!r} exists already", field="slug")
        row = self.execute(
            "INSERT INTO launches (slug, spec, created_at_us) VALUES (?, ?, ?) RETURNING id",
            (launch.slug, encode_launch(launch), to_micros(at)),
        ).fetchone()
        self.execute_many(
            "INSERT INTO variants (launch_id, sku, stock) VALUES (?, ?, ?)",
            [(row[0], v.sku, v.stock) for v in launch.variants],
        )

    # --- orders ------------------------------------------------------------------------

    def _orders_of(self, launch_id: int, customer: str) -> CustomerOrders:
        key = (launch_id, customer)
        found = self._customers.get(key)
        if found is None:
            found = self._customers[key] = self.read_customer_orders(launch_id, customer)
        return found

    def _live_of_variant(self, launch_id: int, sku: str) -> int:
        key = (launch_id, sku)
        live = self._variant_live.get(key)
        if live is None:
            row = self.execute(
                "SELECT placed - cancelled - expired FROM variants WHERE launch_id = ? AND sku = ?",
                key,
            ).fetchone()
            live = self._variant_live[key] = int(row[0])
        return live

    def order_book(
        self, launch: str, customer: str, key: str, skus: Collection[str]
    ) -> BookSnapshot:
        """What placing an order reads, in one call: the customer's order under `key`,
        the customer's live orders, and the live orders of `skus`."""
        launch_id = self.launch_id(launch)
        orders = self._orders_of(launch_id, customer)
        earlier = None
        live = 0
        for order, stored_key, digest in orders:
            if stored_key == key:
                earlier = (order, digest)
            if order.status in LIVE:
                live += 1
        by_sku = {sku: self._live_of_variant(launch_id, sku) for sku in skus}
        return BookSnapshot(earlier, live, by_sku)

    def _count(self, launch_id: int, sku: str, placed: int, cancelled: int) -> None:
        delta = self._counter_deltas.setdefault((launch_id, sku), [0, 0])
        delta[0] += placed
        delta[1] += cancelled
        if (launch_id, sku) in self._variant_live:
            self._variant_live[(launch_id, sku)] += placed - cancelled

    def insert_order(
        self,
        launch: str,
        customer: str,
        key: str,
        request_hash: bytes,
        order_id: str,
        terms: NewOrder,
        profile: Profile | None,
        origin: Origin = ONLINE,
    ) -> Order:
        """Store an accepted order and count it against its variant."""
        launch_id = self.launch_id(launch)
        seq = self.next_order_seq(launch)
        locked_at = terms.placed_at if terms.status is OrderStatus.LOCKED else None
        self._new_orders.append(
            (
                seq,
                order_id,
                launch_id,
                terms.sku,
                customer,
                key,
                request_hash,
                terms.status.value,
                terms.deposit_amount,
                to_micros(terms.placed_at),
                to_micros(terms.refundable_until),
                None if locked_at is None else to_micros(locked_at),
                None,
                None,
                *profile_columns(profile),
                origin.channel.value,
                origin.store,
                origin.staff,
                origin.delivery_centre,
            )
        )
        self._unwritten[seq] = len(self._new_orders) - 1
        self._count(launch_id, terms.sku, 1, 0)
        order = Order(
            id=order_id,
            sequence=seq,
            launch=launch,
            sku=terms.sku,
            customer=customer,
            status=terms.status,
            deposit_amount=terms.deposit_amount,
            placed_at=terms.placed_at,
            refundable_until=terms.refundable_until,
            locked_at=locked_at,
            profile=profile,
            channel=origin.channel,
            store=origin.store,
            staff=origin.staff,
            delivery_centre=origin.delivery_centre,
        )
        self._orders_of(launch_id, customer).append((order, key, request_hash))
        self.noted_order(launch_id, customer)
        return order

    def order(self, order_id: str) -> Order | None:
        """The order with this id, read inside the transaction."""
        row = self.execute(f"{ORDER_SELECT} WHERE o.id = ?", (order_id,)).fetchone()
        return order_from_row(row) if row else None

    def set_status(
        self, order: Order, status: OrderStatus, at: datetime, refund_amount: int | None
    ) -> Order:
        """Change an order's stored status (the caller has checked the transition)."""
        at_us = to_micros(at)
        if status is OrderStatus.LOCKED:
            if not self._change_unwritten(order.sequence, status, {LOCKED_AT: at_us}):
                self.execute(
                    "UPDATE orders SET status = 'locked', locked_at_us = ? WHERE seq = ?",
                    (at_us, order.sequence),
                )
            changed = locked_order(order, at)
        elif status is OrderStatus.CANCELLED:
            columns = {CANCELLED_AT: at_us, REFUND: refund_amount}
            if not self._change_unwritten(order.sequence, status, columns):
                self.execute(
                    "UPDATE orders SET status = 'cancelled', cancelled_at_us = ?,"
                    " refund_amount = ? WHERE seq = ?",
                    (at_us, refund_amount, order.sequence),
                )
            # A cancelled order gives its unit back to its variant's stock.
            self._count(self.launch_id(order.launch), order.sku, 0, 1)
            changed = cancelled_order(order, at, refund_amount)
        else:
            raise ValueError(f"cannot set status {status}")
        self.forget_customer_order(changed)
        return changed

    def forget_customer_order(self, order: Order) -> None:
        known = self._customers.get((self.launch_id(order.launch), order.customer))
        if known is not None:
            known[:] = [(order if o.id == order.id else o, k, h) for o, k, h in known]

    def give_back_unit(self, order: Order) -> None:
        key = (self.launch_id(order.launch), order.sku)
        if key in self._variant_live:
            self._variant_live[key] -= 1

    def set_delivery_centre(self, order: Order, centre: str) -> Order:
        """Record the delivery centre the buyer collects the car at."""
        if not self._change_unwritten(order.sequence, None, {DELIVERY_CENTRE: centre}):
            self.execute(
                "UPDATE orders SET delivery_centre = ? WHERE seq = ?", (centre, order.sequence)
            )
        return replace(order, delivery_centre=centre)

    def _change_unwritten(
        self, seq: int, status: OrderStatus | None, columns: Mapping[int, int | str | None]
    ) -> bool:
        """Change an order placed in this batch and not yet written; False if written."""
        index = self._unwritten.get(seq)
        if index is None:
            return False
        row = list(self._new_orders[index])
        if status is not None:
            row[STATUS] = status.value
        for column, value in columns.items():
            row[column] = value
        self._new_orders[index] = tuple(row)
        return True

    def record_event(
        self, order: Order, status: OrderStatus, at: datetime, by: str, detail: str | None
    ) -> None:
        """Append to the order's audit trail."""
        self._new_events.append(
            (self.launch_id(order.launch), order.sequence, to_micros(at), status.value, by, detail)
        )

    # --- interest ----------------------------------------------------------------------

    def register_interest(
        self, launch: str, customer: str, at: datetime, profile: Profile
    ) -> tuple[Interest, bool]:
        """Record interest; True if new. A repeat keeps the first time, takes the new profile."""
        launch_id = self.launch_id(launch)
        columns = profile_columns(profile)
        row = self.execute(
            "SELECT registered_at_us FROM interest WHERE launch_id = ? AND customer = ?",
            (launch_id, customer),
        ).fetchone()
        if row is None:
            self.execute(
                "INSERT INTO interest (launch_id, customer, registered_at_us,"
                " first_car_with_brand, new_to_brand, phone, region)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (launch_id, customer, to_micros(at), *columns),
            )
            return Interest(launch, customer, at, profile), True
        self.execute(
            "UPDATE interest SET first_car_with_brand = ?, new_to_brand = ?, phone = ?,"
            " region = ? WHERE launch_id = ? AND customer = ?",
            (*columns, launch_id, customer),
        )
        return Interest(launch, customer, from_micros(row[0]), profile), False

    # --- waiting room ------------------------------------------------------------------

    def _room(self, launch_id: int) -> list[int]:
        counts = self._room_counts.get(launch_id)
        if counts is None:
            row = self.execute(
                "SELECT joined, changes FROM waiting_rooms WHERE launch_id = ?", (launch_id,)
            ).fetchone()
            if row is None:
                raise LookupError(f"launch {launch_id} has no waiting room")
            counts = self._room_counts[launch_id] = [int(row[0]), int(row[1])]
        return counts

    def create_waiting_room(self, launch: str, seed: bytes) -> None:
        """Store the secret seed of a launch's waiting room."""
        self.execute(
            "INSERT INTO waiting_rooms (launch_id, seed) VALUES (?, ?)",
            (self.launch_id(launch), seed),
        )

    def read_tickets(self, launch_id: int, customers: Collection[str]) -> None:
        """Read the tickets of these customers for the batch (one lookup each)."""
        for customer in customers:
            row = self.execute(
                "SELECT ticket, joined_at_us, position FROM queue_tickets"
                " WHERE launch_id = ? AND customer = ?",
                (launch_id, customer),
            ).fetchone()
            self._tickets[(launch_id, customer)] = (
                None
                if row is None
                else QueuedTicket(row[0], customer, from_micros(row[1]), int(row[2]))
            )

    def join_queue(
        self, launch: str, customer: str, ticket: str, at: datetime
    ) -> tuple[QueuedTicket, bool]:
        """The customer's ticket, created now if they have none (True if new)."""
        launch_id = self.launch_id(launch)
        key = (launch_id, customer)
        if key not in self._tickets:
            self.read_tickets(launch_id, (customer,))
        known = self._tickets[key]
        if known is not None:
            return known, False
        counts = self._room(launch_id)
        counts[0] += 1
        self._new_tickets.append((launch_id, counts[0], customer, ticket, to_micros(at)))
        joined = self._tickets[key] = QueuedTicket(ticket, customer, at, counts[0])
        return joined, True

    def rejoin_queue(self, launch: str, rejoin: QueueRejoin) -> QueueRejoin | None:
        """Record a lapsed ticket's return, with its position in the room's join order;
        None if the ticket already has a rejoin of that number (someone was first)."""
        launch_id = self.launch_id(launch)
        (done,) = self.execute(
            "SELECT coalesce(max(number), 0) FROM queue_rejoins WHERE launch_id = ? AND ticket = ?",
            (launch_id, rejoin.ticket),
        ).fetchone()
        if done >= rejoin.number:
            return None
        counts = self._room(launch_id)
        counts[0] += 1
        stored = replace(rejoin, position=counts[0])
        self.execute(
            "INSERT INTO queue_rejoins"
            " (launch_id, position, ticket, customer, number, at_us, kept_place)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                launch_id,
                stored.position,
                stored.ticket,
                stored.customer,
                stored.number,
                to_micros(stored.at),
                int(stored.kept_place),
            ),
        )
        return stored

    def change_admission(self, launch: str, change: RateChange) -> None:
        """Record a change of the admission rate or a pause, numbered in the room."""
        launch_id = self.launch_id(launch)
        counts = self._room(launch_id)
        counts[1] += 1
        self.execute(
            "INSERT INTO admission_changes (launch_id, seq, at_us, rate_per_second, paused)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                launch_id,
                counts[1],
                to_micros(change.at),
                change.rate_per_second,
                int(change.paused),
            ),
        )
