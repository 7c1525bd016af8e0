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

Every write function names what it works on (`launchday.services.ports.locks`: a
launch's order book, a customer's orders, its waiting room, a customer's ticket...).
Before running a batch, the writer takes a transaction-scoped advisory lock on each of
those things for the whole batch, all in one statement, in ascending key order; a new
aggregate is a new lock name, nothing here changes.

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
import secrets
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

import psycopg

from launchday.domain.clock import from_micros, to_micros
from launchday.domain.order import Profile
from launchday.domain.waiting_room import QueuedTicket
from launchday.services.ports.orders import ORDER_BOOK
from launchday.services.ports.store import StoreUnavailable, WriteScope
from launchday.store.batch import apply_jobs
from launchday.store.bulk_insert import BulkInsert
from launchday.store.commit_watchdog import CommitWatchdog
from launchday.store.group_commit import Job, Outcome
from launchday.store.launch_ids import LaunchIds
from launchday.store.migrations import migrate_postgres
from launchday.store.reads import LoopReads, SnapshotReads
from launchday.store.replica import Standby, primary_lsn
from launchday.store.row_mapping import ORDER_WIDTH, order_from_row, to_flag
from launchday.store.sql import ReadConnection
from launchday.store.write_tx import CUSTOMER_ORDERS_SQL, CustomerOrders, SqlWriteTx
from launchday.store.writer_store import DEFAULT_LIMITS, WriterLimits, WriterStore

T = TypeVar("T")
WriteFn = Callable[["PostgresWriteTx", datetime], Any]
log = logging.getLogger("launchday.store")

# Loopback or a LAN: a server that does not answer in this long is treated as down.
CONNECT_TIMEOUT_SECONDS = 3
# A server cut off from the network sends nothing, not even a reset: only TCP ends its
# connections, after some 15 minutes. Until then the writer waits for a COMMIT's answer
# and a point read blocks the event loop (/healthz unanswered, the host taken out of the
# balancer), and the host never reaches the new primary. With these, keepalives find an
# idle connection dead within about 5 s, and data unacknowledged for 5 s closes it: 503,
# as for any lost connection, and the next batch connects afresh. A live server's kernel
# answers keepalives however busy the server is, so a slow one is never cut off.
TCP_DEAD_PEER: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 2,
    "keepalives_interval": 1,
    "keepalives_count": 3,
    "tcp_user_timeout": 5000,  # milliseconds
}
# How long a COMMIT waits for a synchronous standby before it is cancelled: PostgreSQL
# has then committed on the primary alone, so the batch is answered as unavailable
# (503, Retry-After), never as done. A cluster that has lost its standby gives buyers
# that answer after this long instead of holding their requests until failover ends.
COMMIT_WAIT_SECONDS = 5.0
# The primary's WARNING when a commit stops waiting for its standby (server messages in
# English: the cluster's `lc_messages` is C, docs/cluster.md).
SYNC_WAIT_CANCELLED = (
    "canceling wait for synchronous replication",
    "canceling the wait for synchronous replication",
)


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
            **TCP_DEAD_PEER,
        )
    except psycopg.OperationalError as error:
        raise StoreUnavailable() from error


def lock_key(*parts: str) -> int:
    """A 64-bit advisory lock key. Two things sharing a key only wait for each other."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_keys(scope: WriteScope) -> Iterable[int]:
    """The advisory lock keys of what a write works on: its launch's, for each lock."""
    for lock in scope.locks:
        yield lock_key(lock.aggregate, scope.launch, lock.key)


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


@lru_cache(maxsize=512)
def _pyformat(sql: str) -> str:
    """`sql` with its `?` placeholders written as psycopg's `%s`."""
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresWriteTx(SqlWriteTx):
    """The writes of a batch inside its transaction, on the writer's connection.

    Reads the batch will need are sent together first, with the locks held
    (`prefetch_orders`, `prefetch_tickets`); new rows go in one `unnest` each.
    """

    def __init__(self, ids: LaunchIds) -> None:
        super().__init__(ids)
        self._conn: psycopg.Connection[Any] | None = None
        self._seqs: list[int] = []
        self._books: set[str] = set()

    def begin_on(self, conn: psycopg.Connection[Any], seqs: list[int], books: set[str]) -> None:
        """Start a batch on `conn`, with the order sequences drawn for it and the launches
        whose order books it holds."""
        self._conn = conn
        self._seqs = seqs
        self._books = books
        self.begin()

    @property
    def conn(self) -> psycopg.Connection[Any]:
        assert self._conn is not None
        return self._conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(_pyformat(sql), params)

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.cursor().executemany(_pyformat(sql), rows)

    def insert_all(self, insert: BulkInsert, rows: list[tuple[Any, ...]]) -> None:
        arrays = ", ".join(f"%s::{kind}[]" for kind in insert.types)
        self.conn.execute(
            f"INSERT INTO {insert.table} ({', '.join(insert.columns)})"
            f" SELECT * FROM unnest({arrays}){insert.on_conflict}",
            [[row[n] for row in rows] for n in range(len(insert.columns))],
        )

    def next_order_seq(self, launch: str) -> int:
        if launch not in self._books:
            raise RuntimeError("an order was placed without locking the launch's order book")
        if not self._seqs:  # a write that places more than one order: draw one more
            row = self.conn.execute("SELECT nextval('orders_seq')").fetchone()
            assert row is not None
            return int(row[0])
        return self._seqs.pop(0)

    def noted_order(self, launch_id: int, customer: str) -> None:
        pass  # nothing kept beyond the batch: other processes write too

    def read_customer_orders(self, launch_id: int, customer: str) -> CustomerOrders:
        rows = self.execute(CUSTOMER_ORDERS_SQL, (launch_id, customer)).fetchall()
        return [(order_from_row(r), r[ORDER_WIDTH], bytes(r[ORDER_WIDTH + 1])) for r in rows]

    def prefetch_orders(self, wanted: Collection[tuple[str, str]]) -> None:
        """Read the orders of these (launch, customer) pairs for the batch's checks
        (called with their locks held): one lookup each, all sent before the first
        answer is read, so the batch waits for one round trip.

        One query a pair rather than `customer = ANY(...)`: with both columns given, only
        the unique (launch_id, customer, idempotency_key) index fits, whatever the
        statistics say; given a list, a planner that has not yet seen a launch's orders
        (they grow from nothing faster than they are analysed) scans them all by launch.
        """
        pairs = sorted((self.launch_id(slug), customer) for slug, customer in wanted)
        cursors = [self.execute(CUSTOMER_ORDERS_SQL, pair) for pair in pairs]
        for pair, cursor in zip(pairs, cursors, strict=True):
            self._customers[pair] = [
                (order_from_row(r), r[ORDER_WIDTH], bytes(r[ORDER_WIDTH + 1]))
                for r in cursor.fetchall()
            ]

    def prefetch_tickets(self, wanted: Collection[tuple[str, str]]) -> None:
        """Read the waiting-room tickets of these (launch, customer) pairs, as
        `prefetch_orders` does (called with the rooms' locks held)."""
        pairs = sorted((self.launch_id(slug), customer) for slug, customer in wanted)
        cursors = [
            self.execute(
                "SELECT ticket, joined_at_us, position FROM queue_tickets"
                " WHERE launch_id = ? AND customer = ?",
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

    def import_interest(self, launch: str, records: list[tuple[str, datetime, Profile]]) -> int:
        launch_id = self.launch_id(launch)
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
                [to_flag(merged[c][1].first_car_with_brand) for c in customers],
                [to_flag(merged[c][1].new_to_brand) for c in customers],
                [merged[c][1].phone for c in customers],
                [merged[c][1].region for c in customers],
            ),
        ).fetchall()
        return sum(1 for (inserted,) in rows if inserted)


class PostgresSession:
    """The read model's connection: reads run on the event loop, each one indexed read;
    a connection the server dropped is opened again once."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def run(self, fn: Callable[[ReadConnection], T]) -> T:
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None or self._conn.closed:
                    self._conn = connect(self._url)
                try:
                    return fn(ReadConnection(self._conn))
                except psycopg.OperationalError as error:
                    self.close()
                    if attempt == 2:
                        raise StoreUnavailable() from error
            raise AssertionError("unreachable")

    def run_settled(self, launch: str, fn: Callable[[ReadConnection], T]) -> T:
        def settled(db: ReadConnection) -> T:
            conn = db.conn
            assert isinstance(conn, psycopg.Connection)
            with conn.transaction():
                # Joins and changes are stamped while the room's lock is held: once a
                # shared hold is granted, nothing stamped before now is still in flight.
                conn.execute(
                    "SELECT pg_advisory_xact_lock_shared(%s)",
                    (lock_key("waiting_room", launch, ""),),
                )
                return fn(db)

        return self.run(settled)


class PostgresStore(WriterStore[PostgresWriteTx]):
    """The PostgreSQL adapter of the services' `Store`."""

    shared = True  # other server processes may write to the same database

    def __init__(
        self,
        url: str,
        clock: Callable[[], datetime],
        limits: WriterLimits = DEFAULT_LIMITS,
        on_commit: Callable[[int], None] | None = None,
        replica_url: str | None = None,
    ) -> None:
        super().__init__(clock, limits, on_commit)
        self.url = url
        # Reports read here once it has caught up (launchday.store.replica).
        self.standby = Standby(replica_url) if replica_url else None
        self._tx = PostgresWriteTx(LaunchIds())
        self._session: PostgresSession | None = None
        # The batch's COMMIT stopped waiting for its standby (the server's warning says
        # so); and whether a commit has done so with none confirmed since: see `run`.
        self._cancelled_wait = False
        self._unconfirmed = False
        self._watchdog = CommitWatchdog()

    async def start(self) -> None:
        def open_writer() -> psycopg.Connection[Any]:
            conn = connect(self.url)
            migrate_postgres(conn)
            return conn

        self._conn = await asyncio.to_thread(open_writer)
        self._conn.add_notice_handler(self._notice)
        self._session = PostgresSession(self.url)
        self._reads = LoopReads(self._session)
        self._writer.start()

    def _close_reads(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    async def instance_secret(self) -> bytes:
        fresh = secrets.token_urlsafe(32).encode()
        return await asyncio.to_thread(ensure_secret, self.url, fresh)

    def _read_connection(self) -> psycopg.Connection[Any]:
        return connect(self.url)

    def _report(self, fn: Callable[[SnapshotReads], T]) -> T:
        if self.standby is None:
            return self._read(fn)
        return self.standby.run(
            lambda conn: fn(SnapshotReads(ReadConnection(conn))),
            primary_lsn=self._primary_lsn,
            on_primary=lambda: self._read(fn),
        )

    def _primary_lsn(self) -> str:
        """The primary's WAL position, over the read model's connection (one round trip,
        no new connection to the primary)."""
        assert self._session is not None, "store not started"
        return self._session.run(lambda db: primary_lsn(db.conn))

    # --- the writer thread: its part of `launchday.store.batch` ------------------------

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._close_writer()
            self._conn = connect(self.url)
            self._conn.add_notice_handler(self._notice)
        conn: psycopg.Connection[Any] = self._conn
        return conn

    def _notice(self, notice: psycopg.errors.Diagnostic) -> None:
        if (notice.message_primary or "").startswith(SYNC_WAIT_CANCELLED):
            self._cancelled_wait = True

    def run(self, jobs: list[Job[WriteFn]], *, isolate: bool) -> list[Outcome]:
        conn = self._connection()
        scopes = [job.scope for job in jobs if job.scope is not None]
        keys = sorted({key for scope in scopes for key in lock_keys(scope)})
        books = sum(1 for scope in scopes if ORDER_BOOK in scope.locks)
        self._cancelled_wait = False
        with conn.pipeline() as pipeline:
            conn.execute("BEGIN")
            if self._unconfirmed:
                # After a commit the standby did not confirm, every batch writes to the
                # log (a batch that only finds an order writes nothing, and a commit
                # without a record does not wait), so that its COMMIT waits for the
                # standby to hold everything before it, the unconfirmed one included: a
                # retry that finds that order is answered only once it is on two machines.
                conn.execute("SELECT pg_logical_emit_message(true, 'launchday', 'confirm')")
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
            self._tx.begin_on(conn, seqs, {s.launch for s in scopes if ORDER_BOOK in s.locks})
            # What the batch's checks will read, sent together: one round trip in all.
            orders = {
                (s.launch, lock.key)
                for s in scopes
                for lock in s.locks
                if lock.aggregate == "customer"
            }
            tickets = {
                (s.launch, lock.key)
                for s in scopes
                for lock in s.locks
                if lock.aggregate == "ticket"
            }
            if orders:
                self._tx.prefetch_orders(orders)
            if tickets:
                self._tx.prefetch_tickets(tickets)
            now = self._clock()
            outcomes = apply_jobs(jobs, self._tx, now, isolate=isolate)
            self._tx.flush()
            if not self._unconfirmed and any(done for done, _ in outcomes):
                # A batch that answers yes without writing anything (a retry that finds
                # its order, a join that finds its ticket) commits without a record, so
                # its COMMIT does not wait for the standby. What it found may be another
                # process's commit whose wait was cancelled, on this primary alone (the
                # retry of a 503 often reaches another API host): answering it would
                # acknowledge what a failover loses. So such a batch writes one record,
                # and its COMMIT waits for the standby to hold everything before it.
                conn.execute(
                    "SELECT pg_logical_emit_message(true, 'launchday', 'confirm')"
                    " WHERE pg_current_xact_id_if_assigned() IS NULL"
                )
            conn.execute("COMMIT")
            # The server ignores statement_timeout while a COMMIT waits for its standby,
            # but not a cancel: the wait is bounded from here.
            self._watchdog.arm(conn, COMMIT_WAIT_SECONDS)
            try:
                pipeline.sync()  # the COMMIT's answer, and the server's warnings
            finally:
                self._watchdog.disarm()
        if self._cancelled_wait:
            self._unconfirmed = True
            log.warning("a commit was not confirmed by a synchronous standby: answered 503")
            raise StoreUnavailable()
        self._unconfirmed = False
        return outcomes

    def rollback(self) -> None:
        self._tx.discard()
        if self._conn is None:
            return
        try:
            self._conn.execute("ROLLBACK")
        except psycopg.Error:
            self._close_writer()

    def connection_lost(self, error: BaseException) -> bool:
        if isinstance(error, StoreUnavailable):
            return True
        if isinstance(error, psycopg.OperationalError):
            # The server went away mid-batch: whether the COMMIT landed is unknown.
            log.warning("database connection lost: %s", error)
            self._close_writer()
            return True
        return False
