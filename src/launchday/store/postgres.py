"""The production store: PostgreSQL, shared by several server processes.

Each process has one writer thread with its own connection and group-commits like the
SQLite store: the functions waiting are run in one transaction, committed with
`synchronous_commit=on` (the commit record is flushed to disk before COMMIT returns),
and only then acknowledged. Writes inside a batch go out in psycopg's pipeline mode,
so only the reads a check needs wait for a round trip: one query reads what every
check of the batch needs, and one statement each writes its new orders, events and
tickets. psycopg 3 runs here through its synchronous API on the writer thread, not its
asyncio one: the write functions are plain synchronous code shared with the SQLite
store, and the thread waits for the network without holding the GIL.

How several processes stay correct, under READ COMMITTED:

Every write function names what it touches (`launchday.store.ports.Touches`). Before
running a batch, the writer takes a transaction-scoped advisory lock on each of those
things for the whole batch, all in one statement, in ascending key order:

- the launch's order book, for every batch that places orders;
- each customer whose orders, limit or registration the batch reads or changes;
- the launch's waiting room, for joins and rate changes.

Only then does it read the clock and run the functions. Under READ COMMITTED every
statement sees what was committed before it began, and a lock is granted only after
the previous holder committed, so the counts a check reads (the variant's placed and
cancelled, the customer's live orders, an idempotency key) are the latest, and nobody
else can change them until this batch commits: no oversell, no second order for one
key, no customer past the limit. Cancellations take only the customer lock; they can
only give stock back, so a batch's cached count can err only towards refusing, never
towards overselling. Taking every lock at once in one global order means no two
batches can wait on each other, and the row locks of the counter updates are taken at
the end of the batch, sorted, while nothing more is waited for. Holding the order book
while the sequence is drawn and the clock is read makes an order's `sequence` increase
with its acceptance time across processes, as the API promises.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

import psycopg

from launchday.domain.admission import RateChange
from launchday.domain.clock import from_micros, to_micros
from launchday.domain.errors import AlreadyExists, DomainError
from launchday.domain.interest import Interest
from launchday.domain.launch import Launch
from launchday.domain.lifecycle import OrderStatus
from launchday.domain.order import NewOrder, Order, OrderEvent, Profile
from launchday.store.group_commit import GroupCommit, Job, Outcome
from launchday.store.migrations import migrate_postgres
from launchday.store.ports import (
    QueuedTicket,
    QueueRejoin,
    RoomLog,
    StoredWaitingRoom,
    StoreUnavailable,
    Touches,
)
from launchday.store.room_log import read_room_log, read_waiting_room
from launchday.store.rows import ORDER_COLUMNS, ORDER_SELECT, flag, order_from_row
from launchday.store.sql import ReadConnection

T = TypeVar("T")
WriteFn = Callable[["PostgresWriteTx", datetime], Any]
log = logging.getLogger("launchday.store")

# Loopback or a LAN: a server that does not answer in this long is treated as down.
CONNECT_TIMEOUT_SECONDS = 3


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def connect(url: str) -> psycopg.Connection[Any]:
    """An autocommit connection whose commits wait for the disk."""
    try:
        return psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            # No server-side prepared statements: one made inside a batch that fails in
            # pipeline mode is lost with it while the client would still use it.
            prepare_threshold=None,
            options="-c synchronous_commit=on -c default_transaction_isolation=read\\ committed",
        )
    except psycopg.OperationalError as error:
        raise StoreUnavailable() from error


def lock_key(*parts: str) -> int:
    """A 64-bit advisory lock key. Two things sharing a key only wait for each other."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_keys(touches: Touches) -> Iterable[int]:
    if touches.order_book:
        yield lock_key("book", touches.launch)
    if touches.customer is not None:
        yield lock_key("customer", touches.launch, touches.customer)
    if touches.queue:
        yield lock_key("queue", touches.launch)


def ensure_secret(url: str, fresh: bytes) -> bytes:
    """The database's token secret, stored on first use (`fresh` unless one exists)."""
    conn = connect(url)
    try:
        migrate_postgres(conn)
        conn.execute(
            "INSERT INTO instance_secret (id, secret) VALUES (1, %s) ON CONFLICT DO NOTHING",
            (fresh,),
        )
        row = conn.execute("SELECT secret FROM instance_secret WHERE id = 1").fetchone()
        assert row is not None
        return bytes(row[0])
    finally:
        conn.close()


class _LaunchIds:
    """slug -> launch id; launches are never deleted, so a cached id stays right."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    def get(self, conn: psycopg.Connection[Any], slug: str) -> int | None:
        found = self._ids.get(slug)
        if found is None:
            row = conn.execute("SELECT id FROM launches WHERE slug = %s", (slug,)).fetchone()
            if row is None:
                return None
            found = self._ids[slug] = int(row[0])
        return found

    def require(self, conn: psycopg.Connection[Any], slug: str) -> int:
        found = self.get(conn, slug)
        if found is None:
            raise LookupError(f"unknown launch {slug!r}")
        return found


@dataclass(slots=True)
class _CustomerOrders:
    """A customer's orders in a launch as this batch knows them: (order, key, hash)."""

    orders: list[tuple[Order, str, bytes]]


class PostgresWriteTx:
    """WriteTx inside one batch's transaction.

    What the batch reads is kept for the rest of the batch and updated by its own
    writes (the locks make that safe); the counters are added up and written once at
    the end, in key order.
    """

    def __init__(self, ids: _LaunchIds) -> None:
        self._ids = ids
        self._conn: psycopg.Connection[Any] | None = None
        self._customers: dict[tuple[int, str], _CustomerOrders] = {}
        self._variant_live: dict[tuple[int, str], int] = {}
        self._counter_deltas: dict[tuple[int, str], list[int]] = {}
        self._room_counts: dict[int, list[int]] = {}  # launch -> [joined, changes]
        self._seqs: list[int] = []
        # New orders and events, written together at the end of the batch (one statement
        # each, whatever the batch's size).
        self._new_orders: list[tuple[Any, ...]] = []
        self._new_events: list[tuple[Any, ...]] = []
        self._tickets: dict[tuple[int, str], QueuedTicket | None] = {}
        self._new_tickets: list[tuple[Any, ...]] = []

    def begin(self, conn: psycopg.Connection[Any], seqs: list[int]) -> None:
        self._conn = conn
        self._customers.clear()
        self._variant_live.clear()
        self._counter_deltas.clear()
        self._room_counts.clear()
        self._new_orders.clear()
        self._new_events.clear()
        self._tickets.clear()
        self._new_tickets.clear()
        self._seqs = seqs

    @property
    def conn(self) -> psycopg.Connection[Any]:
        assert self._conn is not None
        return self._conn

    def _id(self, slug: str) -> int:
        return self._ids.require(self.conn, slug)

    def flush(self) -> None:
        """Write the batch's new orders and events, then its counters in key order (see
        the module's note on locks)."""
        if self._new_tickets:
            self.conn.execute(_INSERT_TICKETS, _columns(self._new_tickets, 5))
        if self._new_orders:
            self.conn.execute(_INSERT_ORDERS, _columns(self._new_orders, 16))
        if self._new_events:
            self.conn.execute(_INSERT_EVENTS, _columns(self._new_events, 6))
        for (launch_id, sku), (placed, cancelled) in sorted(self._counter_deltas.items()):
            self.conn.execute(
                "UPDATE variants SET placed = placed + %s, cancelled = cancelled + %s"
                " WHERE launch_id = %s AND sku = %s",
                (placed, cancelled, launch_id, sku),
            )
        for launch_id, (joined, changes) in sorted(self._room_counts.items()):
            self.conn.execute(
                "UPDATE waiting_rooms SET joined = %s, changes = %s WHERE launch_id = %s",
                (joined, changes, launch_id),
            )

    # --- launches --------------------------------------------------------------------

    def insert_launch(self, launch: Launch, spec: bytes, at: datetime) -> None:
        if self._ids.get(self.conn, launch.slug) is not None:
            raise AlreadyExists(f"a launch {launch.slug!r} exists already", field="slug")
        row = self.conn.execute(
            "INSERT INTO launches (slug, spec, created_at_us) VALUES (%s, %s, %s) RETURNING id",
            (launch.slug, spec, to_micros(at)),
        ).fetchone()
        assert row is not None
        self.conn.cursor().executemany(
            "INSERT INTO variants (launch_id, sku, stock) VALUES (%s, %s, %s)",
            [(row[0], v.sku, v.stock) for v in launch.variants],
        )

    # --- orders ----------------------------------------------------------------------

    def prefetch_orders(self, wanted: set[tuple[str, str]]) -> None:
        """Read the orders of these (launch, customer) pairs for the batch's checks
        (called with their locks held): one lookup each, all sent before the first
        answer is read, so the batch waits for one round trip.

        One query a pair rather than `customer = ANY(...)`: with both columns given, only
        the unique (launch_id, customer, idempotency_key) index fits, whatever the
        statistics say; given a list, a planner that has not yet seen a launch's orders
        (they grow from nothing faster than they are analysed) scans them all by launch.
        """
        pairs = sorted((self._id(slug), customer) for slug, customer in wanted)
        cursors = [
            self.conn.execute(
                f"SELECT {ORDER_COLUMNS}, o.idempotency_key, o.request_hash"
                " FROM orders o JOIN launches l ON l.id = o.launch_id"
                " WHERE o.launch_id = %s AND o.customer = %s",
                pair,
            )
            for pair in pairs
        ]
        for pair, cursor in zip(pairs, cursors, strict=True):
            self._customers[pair] = _CustomerOrders(
                [(order_from_row(r), r[16], bytes(r[17])) for r in cursor.fetchall()]
            )

    def prefetch_tickets(self, wanted: set[tuple[str, str]]) -> None:
        """Read the waiting-room tickets of these (launch, customer) pairs, as
        `prefetch_orders` does (called with the rooms' locks held)."""
        pairs = sorted((self._id(slug), customer) for slug, customer in wanted)
        cursors = [
            self.conn.execute(
                "SELECT ticket, joined_at_us, position FROM queue_tickets"
                " WHERE launch_id = %s AND customer = %s",
                pair,
            )
            for pair in pairs
        ]
        for (launch_id, customer), cursor in zip(pairs, cursors, strict=True):
            row = cursor.fetchone()
            self._tickets[(launch_id, customer)] = (
                None
                if row is None
                else QueuedTicket(row[0], customer, from_micros(row[1]), int(row[2]))
            )

    def _orders_of(self, launch_id: int, launch: str, customer: str) -> _CustomerOrders:
        if (launch_id, customer) not in self._customers:  # a write without its Touches
            self.prefetch_orders({(launch, customer)})
        return self._customers[(launch_id, customer)]

    def order_by_key(self, launch: str, customer: str, key: str) -> tuple[Order, bytes] | None:
        for order, stored_key, digest in self._orders_of(self._id(launch), launch, customer).orders:
            if stored_key == key:
                return order, digest
        return None

    def live_orders_of_customer(self, launch: str, customer: str) -> int:
        orders = self._orders_of(self._id(launch), launch, customer).orders
        return sum(1 for order, _, _ in orders if order.status is not OrderStatus.CANCELLED)

    def live_orders_of_variant(self, launch: str, sku: str) -> int:
        key = (self._id(launch), sku)
        live = self._variant_live.get(key)
        if live is None:
            row = self.conn.execute(
                "SELECT placed - cancelled FROM variants WHERE launch_id = %s AND sku = %s",
                key,
            ).fetchone()
            assert row is not None
            live = self._variant_live[key] = int(row[0])
        return live

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
    ) -> Order:
        launch_id = self._id(launch)
        if not self._seqs:
            raise RuntimeError("an order was placed without locking the launch's order book")
        seq = self._seqs.pop(0)
        p = profile or Profile()
        locked = terms.status is OrderStatus.LOCKED
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
                to_micros(terms.placed_at) if locked else None,
                flag(p.first_car_with_brand),
                flag(p.new_to_brand),
                p.phone,
                p.region,
            ),
        )
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
            locked_at=terms.placed_at if locked else None,
            profile=profile,
        )
        known = self._customers.get((launch_id, customer))
        if known is not None:
            known.orders.append((order, key, request_hash))
        return order

    def order(self, order_id: str) -> Order | None:
        row = self.conn.execute(f"{ORDER_SELECT} WHERE o.id = %s", (order_id,)).fetchone()
        return order_from_row(row) if row else None

    def set_status(
        self, order: Order, status: OrderStatus, at: datetime, refund_amount: int | None
    ) -> Order:
        at_us = to_micros(at)
        if status is OrderStatus.LOCKED:
            self.conn.execute(
                "UPDATE orders SET status = 'locked', locked_at_us = %s WHERE seq = %s",
                (at_us, order.sequence),
            )
            changed = replace(order, status=status, locked_at=at)
        elif status is OrderStatus.CANCELLED:
            self.conn.execute(
                "UPDATE orders SET status = 'cancelled', cancelled_at_us = %s,"
                " refund_amount = %s WHERE seq = %s",
                (at_us, refund_amount, order.sequence),
            )
            # A cancelled order gives its unit back to the variant's stock.
            self._count(self._id(order.launch), order.sku, 0, 1)
            changed = replace(order, status=status, cancelled_at=at, refund_amount=refund_amount)
        else:
            raise ValueError(f"cannot set status {status}")
        known = self._customers.get((self._id(order.launch), order.customer))
        if known is not None:
            known.orders[:] = [
                (changed if o.id == order.id else o, k, h) for o, k, h in known.orders
            ]
        return changed

    def record_event(
        self, order: Order, status: OrderStatus, at: datetime, by: str, detail: str | None
    ) -> None:
        self._new_events.append(
            (self._id(order.launch), order.sequence, to_micros(at), status.value, by, detail)
        )

    # --- interest --------------------------------------------------------------------

    def register_interest(
        self, launch: str, customer: str, at: datetime, profile: Profile
    ) -> tuple[Interest, bool]:
        launch_id = self._id(launch)
        values = (
            flag(profile.first_car_with_brand),
            flag(profile.new_to_brand),
            profile.phone,
            profile.region,
        )
        row = self.conn.execute(
            "SELECT registered_at_us FROM interest WHERE launch_id = %s AND customer = %s",
            (launch_id, customer),
        ).fetchone()
        if row is None:
            self.conn.execute(
                "INSERT INTO interest (launch_id, customer, registered_at_us,"
                " first_car_with_brand, new_to_brand, phone, region)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (launch_id, customer, to_micros(at), *values),
            )
            return Interest(launch, customer, at, profile), True
        self.conn.execute(
            "UPDATE interest SET first_car_with_brand = %s, new_to_brand = %s, phone = %s,"
            " region = %s WHERE launch_id = %s AND customer = %s",
            (*values, launch_id, customer),
        )
        return Interest(launch, customer, from_micros(row[0]), profile), False

    def import_interest(self, launch: str, records: list[tuple[str, datetime, Profile]]) -> int:
        launch_id = self._id(launch)
        # One row per customer (the earliest time, the last profile), in customer order,
        # so that two imports lock shared rows in the same order.
        merged: dict[str, tuple[int, Profile]] = {}
        for customer, at, profile in records:
            at_us = to_micros(at)
            earlier = merged.get(customer)
            merged[customer] = (min(at_us, earlier[0]) if earlier else at_us, profile)
        customers = sorted(merged)
        rows = self.conn.execute(
            "INSERT INTO interest (launch_id, customer, registered_at_us,"
            " first_car_with_brand, new_to_brand, phone, region)"
            " SELECT %s, * FROM unnest(%s::text[], %s::bigint[], %s::smallint[],"
            " %s::smallint[], %s::text[], %s::text[])"
            " ON CONFLICT (launch_id, customer) DO UPDATE SET"
            " registered_at_us = least(interest.registered_at_us, excluded.registered_at_us),"
            " first_car_with_brand = excluded.first_car_with_brand,"
            " new_to_brand = excluded.new_to_brand, phone = excluded.phone,"
            " region = excluded.region"
            " RETURNING (xmax = 0)",  # true for a row inserted, false for one updated
            (
                launch_id,
                customers,
                [merged[c][0] for c in customers],
                [flag(merged[c][1].first_car_with_brand) for c in customers],
                [flag(merged[c][1].new_to_brand) for c in customers],
                [merged[c][1].phone for c in customers],
                [merged[c][1].region for c in customers],
            ),
        ).fetchall()
        return sum(1 for (inserted,) in rows if inserted)

    # --- waiting room ----------------------------------------------------------------

    def _room(self, launch_id: int) -> list[int]:
        counts = self._room_counts.get(launch_id)
        if counts is None:
            row = self.conn.execute(
                "SELECT joined, changes FROM waiting_rooms WHERE launch_id = %s", (launch_id,)
            ).fetchone()
            if row is None:
                raise LookupError(f"launch {launch_id} has no waiting room")
            counts = self._room_counts[launch_id] = [int(row[0]), int(row[1])]
        return counts

    def create_waiting_room(self, launch: str, seed: bytes) -> None:
        self.conn.execute(
            "INSERT INTO waiting_rooms (launch_id, seed) VALUES (%s, %s)",
            (self._id(launch), seed),
        )

    def join_queue(
        self, launch: str, customer: str, ticket: str, at: datetime
    ) -> tuple[QueuedTicket, bool]:
        launch_id = self._id(launch)
        key = (launch_id, customer)
        if key not in self._tickets:
            self.prefetch_tickets({(launch, customer)})
        known = self._tickets[key]
        if known is not None:
            return known, False
        counts = self._room(launch_id)
        counts[0] += 1
        self._new_tickets.append((launch_id, counts[0], customer, ticket, to_micros(at)))
        joined = self._tickets[key] = QueuedTicket(ticket, customer, at, counts[0])
        return joined, True

    def rejoin_queue(self, launch: str, rejoin: QueueRejoin) -> QueueRejoin | None:
        launch_id = self._id(launch)
        row = self.conn.execute(
            "SELECT coalesce(max(number), 0) FROM queue_rejoins"
            " WHERE launch_id = %s AND ticket = %s",
            (launch_id, rejoin.ticket),
        ).fetchone()
        assert row is not None  # an aggregate
        if row[0] >= rejoin.number:
            return None
        counts = self._room(launch_id)
        counts[0] += 1
        stored = replace(rejoin, position=counts[0])
        self.conn.execute(
            "INSERT INTO queue_rejoins"
            " (launch_id, position, ticket, customer, number, at_us, kept_place)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
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
        launch_id = self._id(launch)
        counts = self._room(launch_id)
        counts[1] += 1
        self.conn.execute(
            "INSERT INTO admission_changes (launch_id, seq, at_us, rate_per_second, paused)"
            " VALUES (%s, %s, %s, %s, %s)",
            (
                launch_id,
                counts[1],
                to_micros(change.at),
                change.rate_per_second,
                int(change.paused),
            ),
        )


_INSERT_ORDERS = (
    "INSERT INTO orders (seq, id, launch_id, sku, customer, idempotency_key,"
    " request_hash, status, deposit_amount, placed_at_us, refundable_until_us,"
    " locked_at_us, first_car_with_brand, new_to_brand, phone, region)"
    " SELECT * FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::text[], %s::text[],"
    " %s::text[], %s::bytea[], %s::text[], %s::bigint[], %s::bigint[], %s::bigint[],"
    " %s::bigint[], %s::smallint[], %s::smallint[], %s::text[], %s::text[])"
)
_INSERT_TICKETS = (
    "INSERT INTO queue_tickets (launch_id, position, customer, ticket, joined_at_us)"
    " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::bigint[])"
)
_INSERT_EVENTS = (
    "INSERT INTO order_events (launch_id, order_seq, at_us, status, actor, detail)"
    " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::text[],"
    " %s::text[], %s::text[])"
)


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as columns, for an INSERT ... SELECT FROM unnest(...) of them all at once."""
    return [[row[n] for row in rows] for n in range(width)]


class PostgresReader:
    """Reads on a connection of their own, reconnecting once when the server went away.

    They run on the event loop, as the SQLite reads do: each is one indexed lookup.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: psycopg.Connection[Any] | None = None
        self._ids = _LaunchIds()
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _run(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None or self._conn.closed:
                    self._conn = connect(self._url)
                try:
                    return fn(self._conn)
                except psycopg.OperationalError as error:
                    self.close()
                    if attempt == 2:
                        raise StoreUnavailable() from error
            raise AssertionError("unreachable")

    def launch_spec(self, slug: str) -> bytes | None:
        row = self._run(
            lambda c: c.execute("SELECT spec FROM launches WHERE slug = %s", (slug,)).fetchone()
        )
        return bytes(row[0]) if row else None

    def launch_slugs(self) -> list[str]:
        rows = self._run(
            lambda c: c.execute("SELECT slug FROM launches ORDER BY id DESC").fetchall()
        )
        return [row[0] for row in rows]

    def order(self, order_id: str) -> Order | None:
        row = self._run(
            lambda c: c.execute(f"{ORDER_SELECT} WHERE o.id = %s", (order_id,)).fetchone()
        )
        return order_from_row(row) if row else None

    def order_events(self, order_id: str) -> list[OrderEvent]:
        rows = self._run(
            lambda c: c.execute(
                "SELECT e.at_us, e.status, e.actor, e.detail FROM order_events e"
                " JOIN orders o ON o.seq = e.order_seq WHERE o.id = %s ORDER BY e.id",
                (order_id,),
            ).fetchall()
        )
        return [OrderEvent(from_micros(r[0]), OrderStatus(r[1]), r[2], r[3]) for r in rows]

    def variant_counts(self, launch: str) -> dict[str, tuple[int, int]]:
        rows = self._run(
            lambda c: c.execute(
                "SELECT v.sku, v.placed, v.cancelled FROM variants v"
                " JOIN launches l ON l.id = v.launch_id WHERE l.slug = %s",
                (launch,),
            ).fetchall()
        )
        return {row[0]: (int(row[1]), int(row[2])) for row in rows}

    def interest_count(self, launch: str) -> int:
        row = self._run(
            lambda c: c.execute(
                "SELECT count(*) FROM interest i JOIN launches l ON l.id = i.launch_id"
                " WHERE l.slug = %s",
                (launch,),
            ).fetchone()
        )
        assert row is not None
        return int(row[0])

    def waiting_room(self, launch: str) -> StoredWaitingRoom | None:
        def read(c: psycopg.Connection[Any]) -> StoredWaitingRoom | None:
            launch_id = self._ids.get(c, launch)
            return None if launch_id is None else read_waiting_room(ReadConnection(c), launch_id)

        return self._run(read)

    def waiting_room_since(
        self, launch: str, after_position: int, after_change: int, *, settled: bool = False
    ) -> RoomLog:
        def read(c: psycopg.Connection[Any]) -> RoomLog:
            launch_id = self._ids.require(c, launch)
            db = ReadConnection(c)
            if not settled:
                return read_room_log(db, launch_id, after_position, after_change)
            with c.transaction():
                # Joins and changes are stamped while the room's lock is held: once a
                # shared hold is granted, nothing stamped before now is still in flight.
                c.execute("SELECT pg_advisory_xact_lock_shared(%s)", (lock_key("queue", launch),))
                return read_room_log(db, launch_id, after_position, after_change)

        return self._run(read)


class PostgresStore:
    """The PostgreSQL adapter of `Store`."""

    shared = True  # other server processes may write to the same database

    def __init__(
        self,
        url: str,
        clock: Callable[[], datetime],
        *,
        max_batch: int = 2048,
        max_pending: int = 50_000,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        self.url = url
        self._clock = clock
        self._on_commit = on_commit
        self._ids = _LaunchIds()
        self._tx = PostgresWriteTx(self._ids)
        self._conn: psycopg.Connection[Any] | None = None
        self._reader: PostgresReader | None = None
        self._writer: GroupCommit[WriteFn] = GroupCommit(
            "launchday-writer",
            self._commit_batch,
            max_batch=max_batch,
            max_pending=max_pending,
            on_stop=self._close_writer,
        )

    def set_commit_observer(self, on_commit: Callable[[int], None]) -> None:
        self._on_commit = on_commit

    async def start(self) -> None:
        def open_writer() -> psycopg.Connection[Any]:
            conn = connect(self.url)
            migrate_postgres(conn)
            return conn

        self._conn = await asyncio.to_thread(open_writer)
        self._reader = PostgresReader(self.url)
        self._writer.start()

    async def stop(self) -> None:
        await self._writer.stop()
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    @property
    def reader(self) -> PostgresReader:
        assert self._reader is not None, "store not started"
        return self._reader

    def pending_writes(self) -> int:
        return self._writer.pending

    async def write(
        self, fn: Callable[[PostgresWriteTx, datetime], T], touches: Touches | None = None
    ) -> T:
        result: T = await self._writer.submit(fn, touches)
        return result

    async def read_in_thread(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        def run() -> T:
            conn = connect(self.url)
            try:
                return fn(conn)
            finally:
                conn.close()

        return await asyncio.to_thread(run)

    # --- the writer thread -------------------------------------------------------------

    def _close_writer(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._close_writer()
            self._conn = connect(self.url)
        return self._conn

    def _commit_batch(self, batch: list[Job[WriteFn]]) -> Sequence[Outcome]:
        """One transaction per launch in the batch: no transaction spans two launches,
        so that launches can later live on different servers."""
        groups: dict[str | None, list[int]] = {}
        for index, job in enumerate(batch):
            groups.setdefault(job.touches.launch if job.touches else None, []).append(index)
        if len(groups) == 1:
            return self._commit_group(batch)
        outcomes: list[Outcome] = [(False, None)] * len(batch)
        for indexes in groups.values():
            for index, outcome in zip(
                indexes, self._commit_group([batch[i] for i in indexes]), strict=True
            ):
                outcomes[index] = outcome
        return outcomes

    def _commit_group(self, batch: list[Job[WriteFn]]) -> Sequence[Outcome]:
        try:
            conn = self._connection()
        except StoreUnavailable as error:
            return [(False, error) for _ in batch]
        try:
            outcomes = self._transaction(conn, batch, isolate=False)
        except _Unexpected:
            self._rollback(conn)
            return [self._alone(job) for job in batch]
        except psycopg.OperationalError as error:
            # The server went away mid-batch. Whether the COMMIT landed is unknown, so
            # nobody is told yes; a retry with the same Idempotency-Key finds out.
            log.warning("database connection lost: %s", error)
            self._close_writer()
            return [(False, StoreUnavailable()) for _ in batch]
        except Exception as error:
            self._rollback(conn)
            return [(False, error) for _ in batch]
        if self._on_commit is not None:
            self._on_commit(len(batch))
        return outcomes

    def _alone(self, job: Job[WriteFn]) -> Outcome:
        try:
            conn = self._connection()
            outcome = self._transaction(conn, [job], isolate=True)[0]
        except psycopg.OperationalError:
            self._close_writer()
            return False, StoreUnavailable()
        except StoreUnavailable as error:
            return False, error
        except Exception as error:
            self._rollback(conn)
            return False, error
        if self._on_commit is not None:
            self._on_commit(1)
        return outcome

    def _rollback(self, conn: psycopg.Connection[Any]) -> None:
        try:
            conn.execute("ROLLBACK")
        except psycopg.Error:
            self._close_writer()

    def _transaction(
        self, conn: psycopg.Connection[Any], batch: list[Job[WriteFn]], *, isolate: bool
    ) -> list[Outcome]:
        keys = sorted({key for job in batch if job.touches for key in lock_keys(job.touches)})
        books = sum(1 for job in batch if job.touches is not None and job.touches.order_book)
        with conn.pipeline():
            conn.execute("BEGIN")
            if keys:
                # unnest yields the array in order, so the locks are taken in key order.
                conn.execute(
                    "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k", (keys,)
                )
            seqs: list[int] = []
            if books:
                seqs = [
                    int(row[0])
                    for row in conn.execute(
                        "SELECT nextval('orders_seq') FROM generate_series(1, %s)", (books,)
                    ).fetchall()
                ]
            else:
                conn.execute("SELECT 1").fetchone()  # wait until every lock is held
            self._tx.begin(conn, seqs)
            # What the batch's checks will read, sent together: one round trip in all.
            orders: set[tuple[str, str]] = set()
            tickets: set[tuple[str, str]] = set()
            for job in batch:
                if job.touches is not None and job.touches.customer is not None:
                    wanted = tickets if job.touches.queue else orders
                    wanted.add((job.touches.launch, job.touches.customer))
            if orders:
                self._tx.prefetch_orders(orders)
            if tickets:
                self._tx.prefetch_tickets(tickets)
            now = self._clock()
            outcomes = [self._apply(job.fn, now, isolate=isolate) for job in batch]
            for ok, value in outcomes:
                if not ok and not isinstance(value, DomainError):
                    raise value  # alone, and failed: the caller rolls back
            self._tx.flush()
            conn.execute("COMMIT")
        return outcomes

    def _apply(self, fn: WriteFn, now: datetime, *, isolate: bool) -> Outcome:
        try:
            return True, fn(self._tx, now)
        except DomainError as refusal:  # raised before any write, by contract
            return False, refusal
        except psycopg.OperationalError:
            raise
        except Exception as error:
            if isolate:
                return False, error
            raise _Unexpected() from error


class _Unexpected(Exception):
    """A write function failed with something other than a domain refusal."""
