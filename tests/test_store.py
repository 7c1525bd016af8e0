"""The storage contract, on SQLite and PostgreSQL alike: group commit, failure isolation,
exact counts after a replayed batch, reads that never wait for the writer, migrations
applied once, and everything kept across a restart. The last tests are about one
database's own settings."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest

from launchday.api.wire import LaunchSpec, launch_from_spec
from launchday.domain.errors import DomainError, SoldOut
from launchday.domain.lifecycle import OrderStatus
from launchday.domain.order import terms_for
from launchday.services import make_services
from launchday.services.orders import Placed
from launchday.services.ports.orders import ORDER_BOOK
from launchday.services.ports.store import Store, WriteScope
from launchday.store import open_store
from launchday.store.postgres import PostgresStore, connect, lock_key
from launchday.store.schema import STEPS
from launchday.store.sqlite import connect as connect_sqlite
from launchday.store.sqlite import sqlite_path
from launchday.store.write_tx import SqlWriteTx
from tests.support import SECRET, T0, Database, SettableClock, in_process, launch_body


def store_on(database: Database, batches: list[int], now: datetime = T0) -> Store:
    store = open_store(database.url, lambda: now)
    store.set_commit_observer(batches.append)
    return store


# --- group commit ----------------------------------------------------------------------


def test_concurrent_writes_share_commits(database: Database) -> None:
    batches: list[int] = []
    store = store_on(database, batches)

    def write(tx: SqlWriteTx, now: datetime) -> int:
        return int(tx.execute("SELECT 1").fetchone()[0])

    async def main() -> list[int]:
        await store.start()
        try:
            return await asyncio.gather(*(store.write(write, WriteScope("x")) for _ in range(500)))
        finally:
            await store.stop()

    assert asyncio.run(main()) == [1] * 500
    assert sum(batches) == 500
    assert len(batches) < 500, "writes queued together commit together"


def test_an_unexpected_failure_fails_only_its_own_write(database: Database) -> None:
    store = store_on(database, [])
    database.execute("CREATE TABLE t (n INTEGER)")

    def good(n: int) -> Any:
        def write(tx: SqlWriteTx, now: datetime) -> int:
            tx.execute("INSERT INTO t VALUES (?)", (n,))
            return n

        return write

    def broken(tx: SqlWriteTx, now: datetime) -> None:
        tx.execute("INSERT INTO t VALUES (-1)")
        raise RuntimeError("a bug")

    def bad_sql(tx: SqlWriteTx, now: datetime) -> None:
        tx.execute("INSERT INTO no_such_table VALUES (1)")

    def refused(tx: SqlWriteTx, now: datetime) -> None:
        raise SoldOut("none left")

    async def main() -> list[object]:
        await store.start()
        try:
            jobs = [store.write(job, WriteScope("x")) for job in (good(1), broken, refused)]
            jobs += [store.write(bad_sql, WriteScope("x"))]
            jobs += [store.write(good(n), WriteScope("x")) for n in range(2, 6)]
            return await asyncio.gather(*jobs, return_exceptions=True)
        finally:
            await store.stop()

    results = asyncio.run(main())
    assert results[0] == 1
    assert isinstance(results[1], RuntimeError)
    assert isinstance(results[2], SoldOut)
    assert isinstance(results[3], Exception)
    assert not isinstance(results[3], DomainError | RuntimeError)
    assert results[4:] == [2, 3, 4, 5]
    assert sorted(n for (n,) in database.query("SELECT n FROM t")) == [1, 2, 3, 4, 5]


def test_a_batch_replayed_after_a_bug_keeps_stock_limits_and_history_exact(
    database: Database,
) -> None:
    """Counters and events are deferred to the end of a batch: a batch that fails over
    and is replayed write by write must still count each order once, refuse what is
    over the limit, and record each event once."""
    batches: list[int] = []
    now = T0 + timedelta(minutes=1)
    store = store_on(database, batches, now)
    services = make_services(store, lambda: now, SECRET)
    spec = msgspec.json.decode(msgspec.json.encode(launch_body()), type=LaunchSpec)
    gate = threading.Event()

    def hold(tx: SqlWriteTx, now: datetime) -> None:
        gate.wait(10)

    def broken(tx: SqlWriteTx, now: datetime) -> None:
        tx.execute("UPDATE variants SET placed = placed + 1000")
        raise RuntimeError("a bug")

    async def main() -> list[object]:
        await store.start()
        try:
            await services.launches.create(launch_from_spec(spec))
            # The writer waits in `hold` while the rest queue up behind it as one batch;
            # the bug in that batch makes the writer roll back and replay each write alone.
            held = asyncio.ensure_future(store.write(hold, WriteScope("yu7-2025")))
            await asyncio.sleep(0.05)
            place = services.orders.place
            jobs: list[Awaitable[object]] = [
                place("yu7-2025", f"c-{n}", "k", "YU7-MAX", None) for n in range(3)
            ]
            jobs += [store.write(broken, WriteScope("yu7-2025"))]
            jobs += [place("yu7-2025", "c-0", "k2", "YU7-MAX", None)]
            jobs += [place("yu7-2025", "c-0", "k", "YU7-MAX", None)]
            queued = [asyncio.ensure_future(job) for job in jobs]
            await asyncio.sleep(0.05)
            gate.set()
            await held
            return await asyncio.gather(*queued, return_exceptions=True)
        finally:
            await store.stop()

    results = asyncio.run(main())
    assert [type(r).__name__ for r in results] == [
        "Placed", "Placed", "Placed", "RuntimeError", "LimitReached", "Placed",
    ]  # fmt: skip
    # The hold, then the batch with the bug replayed write by write: five commits of
    # one write each (the broken write is rolled back, so it is no committed batch).
    assert batches[1:] == [1] * 6, "the batch with the bug was replayed write by write"
    first, replay = results[0], results[5]
    assert isinstance(first, Placed)
    assert isinstance(replay, Placed)
    assert replay.replayed
    assert replay.order == first.order
    placed = database.query("SELECT placed, cancelled FROM variants WHERE sku = 'YU7-MAX'")
    assert placed == [(3, 0)]
    events = database.query("SELECT order_seq, status FROM order_events ORDER BY order_seq")
    assert events == [(r.order.sequence, "reserved") for r in results[:3] if isinstance(r, Placed)]


def test_an_order_changed_in_the_batch_that_placed_it_is_stored_changed(
    database: Database,
) -> None:
    """New orders are written at the end of their batch: a change of status in the same
    batch (a bulk load that cancels some of what it places) lands on the row written."""
    now = T0 + timedelta(minutes=1)
    store = store_on(database, [], now)
    services = make_services(store, lambda: now, SECRET)
    spec = msgspec.json.decode(msgspec.json.encode(launch_body()), type=LaunchSpec)

    async def main() -> None:
        await store.start()
        try:
            launch = await services.launches.create(launch_from_spec(spec))
            terms = terms_for(launch, "YU7-MAX", now)

            def place_and_change(tx: SqlWriteTx, now: datetime) -> None:
                kept = tx.insert_order("yu7-2025", "c-1", "k", b"h", "o-1", terms, None)
                gone = tx.insert_order("yu7-2025", "c-2", "k", b"h", "o-2", terms, None)
                locked = tx.insert_order("yu7-2025", "c-3", "k", b"h", "o-3", terms, None)
                tx.set_status(gone, OrderStatus.CANCELLED, now, 5000)
                tx.set_status(locked, OrderStatus.LOCKED, now, None)
                assert kept.status is OrderStatus.RESERVED

            await store.write(place_and_change, WriteScope("yu7-2025", (ORDER_BOOK,)))
        finally:
            await store.stop()

    asyncio.run(main())
    rows = database.query("SELECT id, status, refund_amount FROM orders ORDER BY id")
    assert rows == [("o-1", "reserved", None), ("o-2", "cancelled", 5000), ("o-3", "locked", None)]
    assert database.query("SELECT placed, cancelled FROM variants WHERE sku = 'YU7-MAX'") == [
        (3, 1)
    ]


# --- reads -----------------------------------------------------------------------------


@contextmanager
def writer_holding_rows(database: Database) -> Iterator[None]:
    """Another connection in the middle of a write transaction on the orders' rows."""
    if database.is_postgres:
        blocker: Any = psycopg.connect(database.url)
        blocker.execute("UPDATE variants SET placed = placed + 100")
        blocker.execute("UPDATE orders SET status = 'locked'")
        try:
            yield
        finally:
            blocker.rollback()
            blocker.close()
        return
    blocker = sqlite3.connect(sqlite_path(database.url), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    blocker.execute("UPDATE variants SET placed = placed + 100")
    try:
        yield
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def test_reads_do_not_wait_behind_a_writer(database: Database, clock: SettableClock) -> None:
    with in_process(database.settings(), clock) as (api, _app):
        api.create_launch()
        order = api.place("c-1").json()
        with writer_holding_rows(database):
            launch = api.get("/api/v1/launches/yu7-2025")
            read = api.get(f"/api/v1/orders/{order['id']}", headers=api.as_customer("c-1"))
        assert launch.status_code == 200
        assert launch.json()["counts"]["placed"] == 1  # the last commit, not the open write
        assert read.json() == order


# --- schema and restarts ----------------------------------------------------------------


def test_migrations_are_recorded_and_applied_once(empty_database: Database) -> None:
    database = empty_database

    async def start_together() -> None:
        # Processes starting at once migrate once (on PostgreSQL, the migration lock
        # holds the others; SQLite's file lock does the same for its one process).
        count = 3 if database.is_postgres else 1
        stores = [open_store(database.url, lambda: T0) for _ in range(count)]
        await asyncio.gather(*(store.start() for store in stores))
        await asyncio.gather(*(store.stop() for store in stores))
        again = open_store(database.url, lambda: T0)
        await again.start()
        await again.stop()

    asyncio.run(start_together())
    names = [n for (n,) in database.query("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == [step.name for step in STEPS]


def test_orders_survive_a_restart(database: Database, clock: SettableClock) -> None:
    with in_process(database.settings(), clock) as (api, _app):
        api.create_launch()
        order = api.place("c-1").json()
    with in_process(database.settings(), clock) as (api, _app):
        assert api.get(f"/api/v1/orders/{order['id']}", headers=api.admin()).json() == order
        assert api.place("c-1").json() == order  # the idempotent replay still works
        second = api.place("c-2").json()
    assert second["sequence"] > order["sequence"]


def test_stock_and_limits_hold_across_a_restart(database: Database, clock: SettableClock) -> None:
    """What a writer keeps in memory is read back from the database after a restart."""
    variants = launch_body()["variants"]
    variants[1]["stock"] = 2
    with in_process(database.settings(), clock) as (api, _app):
        api.create_launch(variants=variants)
        assert api.place("c-1", sku="YU7-LTD").status_code == 201
    with in_process(database.settings(), clock) as (api, _app):
        again = api.place("c-1", sku="YU7-LTD", key="another")
        assert again.json()["error"]["code"] == "limit_reached"
        assert api.place("c-2", sku="YU7-LTD").status_code == 201
        assert api.place("c-3", sku="YU7-LTD").json()["error"]["code"] == "sold_out"


def test_the_token_secret_is_kept_with_the_data(database: Database) -> None:
    """Without LAUNCHDAY_SECRET the database keeps one secret: the same at every start."""

    async def secret() -> bytes:
        store = open_store(database.url, lambda: T0)
        await store.start()
        try:
            return await store.instance_secret()
        finally:
            await store.stop()

    first, second = asyncio.run(secret()), asyncio.run(secret())
    assert first == second
    assert len(first) >= 32


# --- each database's own settings -------------------------------------------------------


def test_sqlite_urls_name_relative_and_absolute_files() -> None:
    assert sqlite_path("sqlite:///./launchday.db") == "./launchday.db"
    assert sqlite_path("sqlite:///launchday.db") == "launchday.db"
    assert sqlite_path("sqlite:////var/lib/launchday.db") == "/var/lib/launchday.db"
    with pytest.raises(ValueError, match="sqlite:///"):
        sqlite_path("postgresql://localhost/x")


def test_sqlite_runs_in_wal_mode_with_full_fsync(tmp_path: Path) -> None:
    conn = connect_sqlite(str(tmp_path / "x.db"))
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    conn.close()


def test_postgres_connections_wait_for_the_disk_at_every_commit(pg_database: Database) -> None:
    conn = connect(pg_database.url)
    try:
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
        assert conn.execute("SHOW transaction_isolation").fetchone() == ("read committed",)
        assert conn.execute("SHOW fsync").fetchone() == ("on",)  # the test cluster syncs too
    finally:
        conn.close()


def test_postgres_lock_keys_are_stable_and_distinct() -> None:
    assert lock_key("order_book", "yu7", "") == lock_key("order_book", "yu7", "")
    keys = {lock_key("order_book", "yu7", ""), lock_key("customer", "yu7", "c-1")}
    keys |= {lock_key("waiting_room", "yu7", ""), lock_key("order_book", "su7", "")}
    keys |= {lock_key("customer", "yu7", "c-2")}
    assert len(keys) == 5
    assert all(-(2**63) <= key < 2**63 for key in keys)


def test_postgres_commits_one_transaction_per_batch(pg_database: Database) -> None:
    batches: list[int] = []
    store = PostgresStore(pg_database.url, lambda: T0, on_commit=batches.append)

    def write(tx: SqlWriteTx, now: datetime) -> int:
        return int(tx.execute("SELECT txid_current()").fetchone()[0])

    async def main() -> list[int]:
        await store.start()
        try:
            return await asyncio.gather(*(store.write(write, WriteScope("x")) for _ in range(500)))
        finally:
            await store.stop()

    transactions = asyncio.run(main())
    assert sum(batches) == 500
    assert len(set(transactions)) == len(batches), "one transaction per committed batch"


def test_postgres_transactions_never_span_two_launches(pg_database: Database) -> None:
    """Writes of two launches, queued at once, share commits only with their own launch:
    rows written by one transaction carry the same xmin."""
    store = PostgresStore(pg_database.url, lambda: T0)
    pg_database.execute("CREATE TABLE t (launch TEXT, n INTEGER)")

    def write(launch: str, n: int) -> Any:
        def insert(tx: SqlWriteTx, now: datetime) -> None:
            tx.execute("INSERT INTO t VALUES (?, ?)", (launch, n))

        return insert

    async def main() -> None:
        await store.start()
        try:
            await asyncio.gather(
                *(
                    store.write(write(launch, n), WriteScope(launch))
                    for n in range(300)
                    for launch in ("yu7", "su7")
                )
            )
        finally:
            await store.stop()

    asyncio.run(main())
    rows = pg_database.query("SELECT xmin::text, launch FROM t")
    assert len(rows) == 600
    launches_of: dict[str, set[str]] = {}
    for xmin, launch in rows:
        launches_of.setdefault(xmin, set()).add(launch)
    assert all(len(launches) == 1 for launches in launches_of.values())
    assert len(launches_of) < 600, "still grouped, within each launch"
