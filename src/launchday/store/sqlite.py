"""The embedded store: SQLite in WAL mode, one writer thread, group commit.

One thread owns the write connection (as datasette does). Requests put their write
functions on a queue (`launchday.store.group_commit`); the writer takes everything
waiting, runs it in one `BEGIN IMMEDIATE` transaction (`launchday.store.batch`),
commits with `synchronous=FULL` (the WAL is fsynced before COMMIT returns), and only
then resolves the callers' futures. Many orders share one fsync, so durability costs
little. Readers use their own connection: in WAL mode they see the last commit and
never wait for the writer.

What is SQLite's own: the file and its pragmas, the secret kept beside it, the order
sequence the single writer counts, and a filter of the customers who have orders, so
that a customer's first order (nearly every order of a launch night) asks nothing.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

from launchday.domain.clock import to_micros
from launchday.domain.order import Profile
from launchday.store.batch import apply_jobs
from launchday.store.bulk_insert import BulkInsert
from launchday.store.group_commit import Job, Outcome
from launchday.store.launch_ids import LaunchIds
from launchday.store.migrations import migrate_sqlite
from launchday.store.reads import LoopReads
from launchday.store.reads.session import OneConnection
from launchday.store.row_mapping import ORDER_WIDTH, order_from_row, profile_columns
from launchday.store.sql import ReadConnection
from launchday.store.write_tx import CUSTOMER_ORDERS_SQL, CustomerOrders, SqlWriteTx
from launchday.store.writer_store import DEFAULT_LIMITS, WriterLimits, WriterStore

T = TypeVar("T")
WriteFn = Callable[["SQLiteWriteTx", datetime], Any]

# Copy the WAL back into the database every 10,000 pages (40 MB) rather than 1,000:
# index pages that many commits touch are copied once, not once each (about 1 us of
# the writer's CPU per order on a launch night, bench/README.md).
WAL_CHECKPOINT_PAGES = 10_000


def sqlite_path(url: str) -> str:
    """The file path in a `sqlite:///path` URL (`sqlite:///./x.db` is relative)."""
    parsed = urlparse(url)
    if parsed.scheme != "sqlite" or parsed.netloc:
        raise ValueError(f"expected sqlite:///path/to/file.db, got {url!r}")
    # sqlite:///./x.db and sqlite:///x.db are relative; sqlite:////abs/x.db is absolute.
    return unquote(parsed.path)[1:]


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


def secret_path(path: str) -> Path:
    """Where the generated secret of a database file lives: `<file>.secret`."""
    return Path(path + ".secret")


def secret_beside(path: str) -> bytes:
    """The token secret kept beside the database file (mode 0600), created on first use."""
    file = secret_path(path)
    if file.exists():
        return file.read_bytes().strip()
    file.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32).encode()
    # O_EXCL: if another process created it first, use theirs.
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return file.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(value + b"\n")
    return value


class CustomersWithOrders:
    """Which customers of a launch may have an order: a Bloom filter, 4 MiB per launch.

    "No" is certain, so a customer's first order needs no query for its idempotency
    key or its count of live orders; "maybe" (about one in 300 at a million customers,
    or a customer who did order) asks the database. It only ever gains members (orders
    are never deleted), so members added by a transaction that is then rolled back
    cost a query, never a wrong answer.
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


class SQLiteWriteTx(SqlWriteTx):
    """The writes of a batch on the writer thread's connection, inside its transaction.

    The writer owns the truth, so it keeps in memory what it would otherwise ask the
    database for on every order: the last order sequence, and which customers may have
    orders at all. After a rollback the sequence is read afresh.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(LaunchIds())
        self._conn = conn
        self._customers_with_orders: dict[int, CustomersWithOrders] = {}
        self._last_seq: int | None = None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql, params)

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    def insert_all(self, insert: BulkInsert, rows: list[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" * len(insert.columns))
        self._conn.executemany(
            f"INSERT INTO {insert.table} ({', '.join(insert.columns)}) VALUES ({marks})"
            f"{insert.on_conflict}",
            rows,
        )

    def next_order_seq(self, launch: str) -> int:
        if self._last_seq is None:
            row = self._conn.execute("SELECT coalesce(max(seq), 0) FROM orders").fetchone()
            self._last_seq = int(row[0])
        self._last_seq += 1
        return self._last_seq

    def discard(self) -> None:
        if self._new_orders:  # rolled back: the sequences drawn were never stored
            self._last_seq = None
        super().discard()

    def _filter_of(self, launch_id: int) -> CustomersWithOrders:
        found = self._customers_with_orders.get(launch_id)
        if found is None:
            rows = self._conn.execute(
                "SELECT customer FROM orders WHERE launch_id = ?", (launch_id,)
            )
            found = CustomersWithOrders(row[0] for row in rows)
            self._customers_with_orders[launch_id] = found
        return found

    def read_customer_orders(self, launch_id: int, customer: str) -> CustomerOrders:
        if not self._filter_of(launch_id).may_contain(customer):
            return []
        rows = self._conn.execute(CUSTOMER_ORDERS_SQL, (launch_id, customer)).fetchall()
        return [(order_from_row(r), r[ORDER_WIDTH], bytes(r[ORDER_WIDTH + 1])) for r in rows]

    def noted_order(self, launch_id: int, customer: str) -> None:
        self._filter_of(launch_id).add(customer)

    def import_interest(self, launch: str, records: list[tuple[str, datetime, Profile]]) -> int:
        launch_id = self.launch_id(launch)
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
                (launch_id, customer, to_micros(at), *profile_columns(profile))
                for customer, at, profile in records
            ],
        )
        return int(self._conn.execute(count, (launch_id,)).fetchone()[0] - before)


class SQLiteStore(WriterStore[SQLiteWriteTx]):
    """The SQLite adapter of the services' `Store`. One writer thread runs every write
    in turn, so a write's scope needs no lock."""

    shared = False  # one server process owns the file

    def __init__(
        self,
        path: str,
        clock: Callable[[], datetime],
        limits: WriterLimits = DEFAULT_LIMITS,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(clock, limits, on_commit)
        self.path = path
        self._tx: SQLiteWriteTx | None = None
        self._read_conn: sqlite3.Connection | None = None

    async def start(self) -> None:
        if self.path not in ("", ":memory:"):
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = connect(self.path)
        self._conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
        migrate_sqlite(self._conn)
        self._tx = SQLiteWriteTx(self._conn)
        self._read_conn = connect(self.path, readonly=True)
        self._reads = LoopReads(OneConnection(ReadConnection(self._read_conn)))
        self._writer.start()

    def _close_reads(self) -> None:
        if self._read_conn is not None:
            self._read_conn.close()
            self._read_conn = None

    async def instance_secret(self) -> bytes:
        return secret_beside(self.path)

    def _read_connection(self) -> sqlite3.Connection:
        return connect(self.path, readonly=True)

    # --- the writer thread: its part of `launchday.store.batch` ------------------------

    def run(self, jobs: list[Job[WriteFn]], *, isolate: bool) -> list[Outcome]:
        conn, tx = self._conn, self._tx
        assert conn is not None
        assert tx is not None
        now = self._clock()
        conn.execute("BEGIN IMMEDIATE")
        tx.begin()
        outcomes = apply_jobs(jobs, tx, now, isolate=isolate)
        tx.flush()
        conn.execute("COMMIT")
        return outcomes

    def rollback(self) -> None:
        if self._conn is not None and self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
        if self._tx is not None:
            self._tx.discard()

    def connection_lost(self, error: BaseException) -> bool:
        return False  # a file on this machine: there is no connection to lose
