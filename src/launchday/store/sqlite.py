"""The embedded store: SQLite in WAL mode, one writer thread, group commit.

One thread owns the write connection (as datasette does). Requests put their write
functions on a queue (`launchday.store.group_commit`); the writer takes everything
waiting, runs it in one
`BEGIN IMMEDIATE` transaction, commits with `synchronous=FULL` (the WAL is fsynced
before COMMIT returns), and only then resolves the callers' futures. Many orders
share one fsync, so durability costs little. Readers use their own connection: in
WAL mode they see the last commit and never wait for the writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

from launchday.domain.admission import RateChange
from launchday.domain.clock import from_micros, to_micros
from launchday.domain.errors import AlreadyExists, DomainError
from launchday.domain.interest import Interest
from launchday.domain.launch import Launch
from launchday.domain.lifecycle import OrderStatus
from launchday.domain.order import NewOrder, Order, OrderEvent, Profile
from launchday.store.group_commit import GroupCommit, Job, Outcome
from launchday.store.migrations import migrate_sqlite
from launchday.store.ports import QueuedTicket, QueueRejoin, RoomLog, StoredWaitingRoom, Touches
from launchday.store.room_log import read_waiting_room
from launchday.store.rows import ORDER_SELECT, flag, order_from_row
from launchday.store.sql import ReadConnection

T = TypeVar("T")
WriteFn = Callable[["SQLiteWriteTx", datetime], Any]


def sqlite_path(url: str) -> str:
    """The file path in a `sqlite:///path` URL (`sqlite:///./x.db` is relative)."""
    parsed = urlparse(url)
    if parsed.scheme != "sqlite" or parsed.netloc:
        raise ValueError(f"expected sqlite:///path/to/file.db, got {url!r}")
    # sqlite:///./x.db and sqlite:///x.db are relative; sqlite:////abs/x.db is absolute.
    return unquote(parsed.path)[1:]


WAL_CHECKPOINT_PAGES = 10_000


def connect(path: str, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode with the durability settings every connection needs."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    else:
        conn.execute("PRAGMA journal_mode = WAL")
        # FULL: the WAL is fsynced at every COMMIT, so an acknowledged order survives power loss.
        conn.execute("PRAGMA synchronous = FULL")
    return conn


class _LaunchIds:
    """slug -> launch id; launches are never deleted, so a cached id stays right."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._ids: dict[str, int] = {}

    def get(self, slug: str) -> int | None:
        found = self._ids.get(slug)
        if found is None:
            row = self._conn.execute("SELECT id FROM launches WHERE slug = ?", (slug,)).fetchone()
            if row is None:
                return None
            found = self._ids[slug] = row[0]
        return found

    def require(self, slug: str) -> int:
        found = self.get(slug)
        if found is None:
            raise LookupError(f"unknown launch {slug!r}")
        return found


class _CustomersWithOrders:
    """Which customers of a launch may have an order: a Bloom filter, 4 MiB per launch.

    "No" is certain, so a customer's first order (nearly every order of a launch night)
    needs no query for its idempotency key or its count of live orders; "maybe" (about
    one in 300 at a million customers, or a customer who did order) asks the database.
    It only ever gains members (orders are never deleted), so members added by a
    transaction that is then rolled back cost a query, never a wrong answer.
    """

    _MASK = (1 << 25) - 1  # 2**25 bits, probed twice

    def __init__(self, customers: Iterable[str]) -> None:
        self._bits = bytearray((self._MASK + 1) // 8)
        for customer in customers:
            self.add(customer)

    def add(self, customer: str) -> None:
        # Two probes from two slices of the string's own hash (fixed for the life of the
        # process, and the filter lives no longer).
        h = hash(customer)
        first, second = h & self._MASK, (h >> 25) & self._MASK
        self._bits[first >> 3] |= 1 << (first & 7)
        self._bits[second >> 3] |= 1 << (second & 7)

    def may_contain(self, customer: str) -> bool:
        h = hash(customer)
        first, second = h & self._MASK, (h >> 25) & self._MASK
        bits = self._bits
        return bool(bits[first >> 3] >> (first & 7) & 1 and bits[second >> 3] >> (second & 7) & 1)


class SQLiteWriteTx:
    """WriteTx over the writer thread's connection, inside its open transaction.

    The writer owns the truth, so it keeps in memory what it would otherwise query for
    every order: the live orders of each variant, and which customers may have orders
    at all. Counter updates and audit events are written once per batch (`flush`, before
    COMMIT); after a ROLLBACK, `discard` drops them and the memory is read afresh.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._ids = _LaunchIds(conn)
        self._customers: dict[int, _CustomersWithOrders] = {}
        self._live: dict[int, dict[str, int]] = {}  # launch id -> sku -> live orders
        self._placed: dict[tuple[int, str], int] = {}  # orders placed, not yet counted
        self._events: list[tuple[int, int, int, str, str, str | None]] = []
        self._joined: dict[int, int] = {}  # launch id -> positions its room gave out

    def flush(self) -> None:
        """Write what this transaction deferred: variant counters and audit events."""
        if self._placed:
            self._conn.executemany(
                "UPDATE variants SET placed = placed + ? WHERE launch_id = ? AND sku = ?",
                [(count, launch_id, sku) for (launch_id, sku), count in self._placed.items()],
            )
            self._placed.clear()
        if self._events:
            self._conn.executemany(
                "INSERT INTO order_events (launch_id, order_seq, at_us, status, actor, detail)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                self._events,
            )
            self._events.clear()
        if self._joined:
            self._conn.executemany(
                "UPDATE waiting_rooms SET joined = ? WHERE launch_id = ?",
                [(joined, launch_id) for launch_id, joined in self._joined.items()],
            )
            self._joined.clear()

    def discard(self) -> None:
        """Forget what a rolled-back transaction deferred and the counts it changed."""
        self._placed.clear()
        self._events.clear()
        self._live.clear()
        self._joined.clear()

    def _customers_of(self, launch_id: int) -> _CustomersWithOrders:
        found = self._customers.get(launch_id)
        if found is None:
            rows = self._conn.execute(
                "SELECT customer FROM orders WHERE launch_id = ?", (launch_id,)
            )
            found = self._customers[launch_id] = _CustomersWithOrders(row[0] for row in rows)
        return found

    def _live_of(self, launch_id: int) -> dict[str, int]:
        found = self._live.get(launch_id)
        if found is None:
            rows = self._conn.execute(
                "SELECT sku, placed - cancelled FROM variants WHERE launch_id = ?", (launch_id,)
            )
            found = self._live[launch_id] = dict(rows)
            for (placed_in, sku), count in self._placed.items():
                if placed_in == launch_id:
                    found[sku] += count
        return found

    def insert_launch(self, launch: Launch, spec: bytes, at: datetime) -> None:
        if self._ids.get(launch.slug) is not None:
            raise AlreadyExists(f"a launch {launch.slug!r} exists already", field="slug")
        cursor = self._conn.execute(
            "INSERT INTO launches (slug, spec, created_at_us) VALUES (?, ?, ?)",
            (launch.slug, spec, to_micros(at)),
        )
        launch_id = cursor.lastrowid
        self._conn.executemany(
            "INSERT INTO variants (launch_id, sku, stock) VALUES (?, ?, ?)",
            [(launch_id, v.sku, v.stock) for v in launch.variants],
        )

    def order_by_key(self, launch: str, customer: str, key: str) -> tuple[Order, bytes] | None:
        if not self._customers_of(self._ids.require(launch)).may_contain(customer):
            return None
        row = self._conn.execute(
            f"{ORDER_SELECT.replace('SELECT ', 'SELECT o.request_hash, ', 1)}"
            " WHERE o.launch_id = ? AND o.customer = ? AND o.idempotency_key = ?",
            (self._ids.require(launch), customer, key),
        ).fetchone()
        if row is None:
            return None
        return order_from_row(row[1:]), row[0]

    def live_orders_of_customer(self, launch: str, customer: str) -> int:
        launch_id = self._ids.require(launch)
        if not self._customers_of(launch_id).may_contain(customer):
            return 0
        # Served by the UNIQUE (launch_id, customer, idempotency_key) index.
        row = self._conn.execute(
            "SELECT count(*) FROM orders WHERE launch_id = ? AND customer = ?"
            " AND status != 'cancelled'",
            (launch_id, customer),
        ).fetchone()
        return int(row[0])

    def live_orders_of_variant(self, launch: str, sku: str) -> int:
        return self._live_of(self._ids.require(launch))[sku]

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
        launch_id = self._ids.require(launch)
        p = profile or Profile()
        cursor = self._conn.execute(
            "INSERT INTO orders (id, launch_id, sku, customer, idempotency_key, request_hash,"
            " status, deposit_amount, placed_at_us, refundable_until_us, locked_at_us,"
            " first_car_with_brand, new_to_brand, phone, region)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
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
                to_micros(terms.placed_at) if terms.status is OrderStatus.LOCKED else None,
                flag(p.first_car_with_brand),
                flag(p.new_to_brand),
                p.phone,
                p.region,
            ),
        )
        # Counted once the row is in: a failed INSERT leaves memory as it was.
        self._customers_of(launch_id).add(customer)
        self._live_of(launch_id)[terms.sku] += 1
        self._placed[launch_id, terms.sku] = self._placed.get((launch_id, terms.sku), 0) + 1
        assert cursor.lastrowid is not None
        return Order(
            id=order_id,
            sequence=cursor.lastrowid,
            launch=launch,
            sku=terms.sku,
            customer=customer,
            status=terms.status,
            deposit_amount=terms.deposit_amount,
            placed_at=terms.placed_at,
            refundable_until=terms.refundable_until,
            locked_at=terms.placed_at if terms.status is OrderStatus.LOCKED else None,
            profile=profile,
        )

    def order(self, order_id: str) -> Order | None:
        row = self._conn.execute(f"{ORDER_SELECT} WHERE o.id = ?", (order_id,)).fetchone()
        return order_from_row(row) if row else None

    def set_status(
        self, order: Order, status: OrderStatus, at: datetime, refund_amount: int | None
    ) -> Order:
        at_us = to_micros(at)
        if status is OrderStatus.LOCKED:
            self._conn.execute(
                "UPDATE orders SET status = 'locked', locked_at_us = ? WHERE seq = ?",
                (at_us, order.sequence),
            )
            return replace(order, status=status, locked_at=at)
        if status is OrderStatus.CANCELLED:
            self._conn.execute(
                "UPDATE orders SET status = 'cancelled', cancelled_at_us = ?, refund_amount = ?"
                " WHERE seq = ?",
                (at_us, refund_amount, order.sequence),
            )
            # A cancelled order gives its unit back to the variant's stock.
            launch_id = self._ids.require(order.launch)
            self._conn.execute(
                "UPDATE variants SET cancelled = cancelled + 1 WHERE launch_id = ? AND sku = ?",
                (launch_id, order.sku),
            )
            self._live_of(launch_id)[order.sku] -= 1
            return replace(order, status=status, cancelled_at=at, refund_amount=refund_amount)
        raise ValueError(f"cannot set status {status}")

    def record_event(
        self, order: Order, status: OrderStatus, at: datetime, by: str, detail: str | None
    ) -> None:
        self._events.append(
            (
                self._ids.require(order.launch),
                order.sequence,
                to_micros(at),
                status.value,
                by,
                detail,
            )
        )

    def register_interest(
        self, launch: str, customer: str, at: datetime, profile: Profile
    ) -> tuple[Interest, bool]:
        launch_id = self._ids.require(launch)
        row = self._conn.execute(
            "SELECT registered_at_us FROM interest WHERE launch_id = ? AND customer = ?",
            (launch_id, customer),
        ).fetchone()
        values = (
            flag(profile.first_car_with_brand),
            flag(profile.new_to_brand),
            profile.phone,
            profile.region,
        )
        if row is None:
            self._conn.execute(
                "INSERT INTO interest (launch_id, customer, registered_at_us,"
                " first_car_with_brand, new_to_brand, phone, region)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (launch_id, customer, to_micros(at), *values),
            )
            return Interest(launch, customer, at, profile), True
        self._conn.execute(
            "UPDATE interest SET first_car_with_brand = ?, new_to_brand = ?, phone = ?,"
            " region = ? WHERE launch_id = ? AND customer = ?",
            (*values, launch_id, customer),
        )
        return Interest(launch, customer, from_micros(row[0]), profile), False

    def import_interest(self, launch: str, records: list[tuple[str, datetime, Profile]]) -> int:
        launch_id = self._ids.require(launch)
        count = "SELECT count(*) FROM interest WHERE launch_id = ?"
        before = self._conn.execute(count, (launch_id,)).fetchone()[0]
        self._conn.executemany(
            "INSERT INTO interest (launch_id, customer, registered_at_us,"
            " first_car_with_brand, new_to_brand, phone, region)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (launch_id, customer) DO UPDATE SET"
            " registered_at_us = min(registered_at_us, excluded.registered_at_us),"
            " first_car_with_brand = excluded.first_car_with_brand,"
            " new_to_brand = excluded.new_to_brand, phone = excluded.phone,"
            " region = excluded.region",
            [
                (
                    launch_id,
                    customer,
                    to_micros(at),
                    flag(p.first_car_with_brand),
                    flag(p.new_to_brand),
                    p.phone,
                    p.region,
                )
                for customer, at, p in records
            ],
        )
        return int(self._conn.execute(count, (launch_id,)).fetchone()[0] - before)

    def create_waiting_room(self, launch: str, seed: bytes) -> None:
        self._conn.execute(
            "INSERT INTO waiting_rooms (launch_id, seed) VALUES (?, ?)",
            (self._ids.require(launch), seed),
        )

    def _next_position(self, launch_id: int) -> int:
        """The room's next position (tickets and rejoins share them), counted here and
        written once per batch."""
        joined = self._joined.get(launch_id)
        if joined is None:
            row = self._conn.execute(
                "SELECT joined FROM waiting_rooms WHERE launch_id = ?", (launch_id,)
            ).fetchone()
            if row is None:
                raise LookupError(f"launch {launch_id} has no waiting room")
            joined = row[0]
        self._joined[launch_id] = joined + 1
        return joined + 1

    def join_queue(
        self, launch: str, customer: str, ticket: str, at: datetime
    ) -> tuple[QueuedTicket, bool]:
        launch_id = self._ids.require(launch)
        row = self._conn.execute(
            "SELECT ticket, joined_at_us, position FROM queue_tickets"
            " WHERE launch_id = ? AND customer = ?",
            (launch_id, customer),
        ).fetchone()
        if row is not None:
            return QueuedTicket(row[0], customer, from_micros(row[1]), row[2]), False
        position = self._next_position(launch_id)
        self._conn.execute(
            "INSERT INTO queue_tickets (launch_id, customer, ticket, joined_at_us, position)"
            " VALUES (?, ?, ?, ?, ?)",
            (launch_id, customer, ticket, to_micros(at), position),
        )
        return QueuedTicket(ticket, customer, at, position), True

    def rejoin_queue(self, launch: str, rejoin: QueueRejoin) -> QueueRejoin | None:
        launch_id = self._ids.require(launch)
        (done,) = self._conn.execute(
            "SELECT coalesce(max(number), 0) FROM queue_rejoins WHERE launch_id = ? AND ticket = ?",
            (launch_id, rejoin.ticket),
        ).fetchone()
        if done >= rejoin.number:
            return None
        stored = replace(rejoin, position=self._next_position(launch_id))
        self._conn.execute(
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
        self._conn.execute(
            "INSERT INTO admission_changes (launch_id, at_us, rate_per_second, paused)"
            " VALUES (?, ?, ?, ?)",
            (
                self._ids.require(launch),
                to_micros(change.at),
                change.rate_per_second,
                change.paused,
            ),
        )


class SQLiteReader:
    """Reads on a connection of their own; WAL lets them run beside the writer."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._ids = _LaunchIds(conn)

    def close(self) -> None:
        self._conn.close()

    def launch_spec(self, slug: str) -> bytes | None:
        row = self._conn.execute("SELECT spec FROM launches WHERE slug = ?", (slug,)).fetchone()
        return bytes(row[0]) if row else None

    def launch_slugs(self) -> list[str]:
        return [row[0] for row in self._conn.execute("SELECT slug FROM launches ORDER BY id DESC")]

    def order(self, order_id: str) -> Order | None:
        row = self._conn.execute(f"{ORDER_SELECT} WHERE o.id = ?", (order_id,)).fetchone()
        return order_from_row(row) if row else None

    def order_events(self, order_id: str) -> list[OrderEvent]:
        rows = self._conn.execute(
            "SELECT e.at_us, e.status, e.actor, e.detail FROM order_events e"
            " JOIN orders o ON o.seq = e.order_seq WHERE o.id = ? ORDER BY e.rowid",
            (order_id,),
        )
        return [OrderEvent(from_micros(r[0]), OrderStatus(r[1]), r[2], r[3]) for r in rows]

    def variant_counts(self, launch: str) -> dict[str, tuple[int, int]]:
        launch_id = self._ids.get(launch)
        rows = self._conn.execute(
            "SELECT sku, placed, cancelled FROM variants WHERE launch_id = ?", (launch_id,)
        )
        return {row[0]: (row[1], row[2]) for row in rows}

    def waiting_room(self, launch: str) -> StoredWaitingRoom | None:
        launch_id = self._ids.get(launch)
        if launch_id is None:
            return None
        return read_waiting_room(ReadConnection(self._conn), launch_id)

    def waiting_room_since(
        self, launch: str, after_position: int, after_change: int, *, settled: bool = False
    ) -> RoomLog:
        # One process writes: its rooms learn of every join as it commits.
        return RoomLog([], [], [])

    def interest_count(self, launch: str) -> int:
        launch_id = self._ids.get(launch)
        row = self._conn.execute(
            "SELECT count(*) FROM interest WHERE launch_id = ?", (launch_id,)
        ).fetchone()
        return int(row[0])


class SQLiteStore:
    """The SQLite adapter of `Store`."""

    shared = False  # one server process owns the file

    def __init__(
        self,
        path: str,
        clock: Callable[[], datetime],
        *,
        max_batch: int = 2048,
        max_pending: int = 50_000,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        self.path = path
        self._clock = clock
        self._on_commit = on_commit
        self._conn: sqlite3.Connection | None = None
        self._tx: SQLiteWriteTx | None = None
        self._reader: SQLiteReader | None = None
        self._writer: GroupCommit[WriteFn] = GroupCommit(
            "launchday-writer",
            self._commit_batch,
            max_batch=max_batch,
            max_pending=max_pending,
            on_stop=self._close_writer,
        )

    def set_commit_observer(self, on_commit: Callable[[int], None]) -> None:
        """Call `on_commit(batch_size)` after every committed batch (from the writer thread)."""
        self._on_commit = on_commit

    async def start(self) -> None:
        if self.path not in ("", ":memory:"):
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = connect(self.path)
        # Copy the WAL back into the database every 10,000 pages (40 MB) rather than
        # 1,000: index pages that many commits touch are copied once, not once each
        # (about 1 us of the writer's CPU per order on a launch night, bench/README.md).
        self._conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
        migrate_sqlite(self._conn)
        self._tx = SQLiteWriteTx(self._conn)
        self._reader = SQLiteReader(connect(self.path, readonly=True))
        self._writer.start()

    async def stop(self) -> None:
        await self._writer.stop()
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _close_writer(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def reader(self) -> SQLiteReader:
        assert self._reader is not None, "store not started"
        return self._reader

    def pending_writes(self) -> int:
        return self._writer.pending

    async def read_in_thread(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            conn = connect(self.path, readonly=True)
            try:
                return fn(conn)
            finally:
                conn.close()

        return await asyncio.to_thread(run)

    async def write(
        self, fn: Callable[[SQLiteWriteTx, datetime], T], touches: Touches | None = None
    ) -> T:
        # One writer thread runs every write in turn: nothing else to lock.
        result: T = await self._writer.submit(fn, touches)
        return result

    # --- the writer thread -------------------------------------------------------------

    def _commit_batch(self, batch: list[Job[WriteFn]]) -> list[Outcome]:
        """Run a batch in one transaction; if anything unexpected fails, run each alone."""
        conn, tx = self._conn, self._tx
        assert conn is not None
        assert tx is not None
        now = self._clock()
        try:
            conn.execute("BEGIN IMMEDIATE")
            outcomes = [self._apply(tx, job.fn, now, isolate=False) for job in batch]
            tx.flush()
            conn.execute("COMMIT")
        except _Unexpected:
            conn.execute("ROLLBACK")
            tx.discard()
            return [self._alone(conn, tx, job) for job in batch]
        except Exception as error:  # the commit itself failed: nothing in the batch is stored
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            tx.discard()
            return [(False, error) for _ in batch]
        if self._on_commit is not None:
            self._on_commit(len(batch))
        return outcomes

    def _alone(self, conn: sqlite3.Connection, tx: SQLiteWriteTx, job: Job[WriteFn]) -> Outcome:
        try:
            conn.execute("BEGIN IMMEDIATE")
            outcome = self._apply(tx, job.fn, self._clock(), isolate=True)
            if outcome[0] or isinstance(outcome[1], DomainError):
                tx.flush()
                conn.execute("COMMIT")
            else:
                conn.execute("ROLLBACK")
                tx.discard()
        except Exception as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            tx.discard()
            return False, error
        if self._on_commit is not None:
            self._on_commit(1)
        return outcome

    @staticmethod
    def _apply(tx: SQLiteWriteTx, fn: WriteFn, now: datetime, *, isolate: bool) -> Outcome:
        try:
            return True, fn(tx, now)
        except DomainError as refusal:  # raised before any write, by contract
            return False, refusal
        except Exception as error:
            if isolate:
                return False, error
            raise _Unexpected() from error


class _Unexpected(Exception):
    """A write function failed with something other than a domain refusal."""
