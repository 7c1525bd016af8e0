"""The PostgreSQL store: durability settings, group commit, failure isolation, free
reads, and transactions that never span two launches."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import psycopg
import pytest

from launchday.domain.errors import SoldOut
from launchday.store.migrations import POSTGRES_MIGRATIONS
from launchday.store.ports import Touches
from launchday.store.postgres import PostgresStore, PostgresWriteTx, connect, lock_key
from tests.support import T0, Database, SettableClock, in_process


def _store(db: Database, batches: list[int]) -> PostgresStore:
    return PostgresStore(db.url, lambda: T0, on_commit=batches.append)


def test_connections_wait_for_the_disk_at_every_commit(pg_database: Database) -> None:
    conn = connect(pg_database.url)
    try:
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
        assert conn.execute("SHOW transaction_isolation").fetchone() == ("read committed",)
        assert conn.execute("SHOW fsync").fetchone() == ("on",)  # the test cluster syncs too
    finally:
        conn.close()


def test_lock_keys_are_stable_and_distinct() -> None:
    assert lock_key("book", "yu7") == lock_key("book", "yu7")
    keys = {lock_key("book", "yu7"), lock_key("customer", "yu7", "c-1"), lock_key("queue", "yu7")}
    keys |= {lock_key("book", "su7"), lock_key("customer", "yu7", "c-2")}
    assert len(keys) == 5
    assert all(-(2**63) <= key < 2**63 for key in keys)


def test_concurrent_writes_share_commits(pg_database: Database) -> None:
    batches: list[int] = []
    store = _store(pg_database, batches)

    def write(tx: PostgresWriteTx, now: datetime) -> int:
        row = tx.conn.execute("SELECT txid_current()").fetchone()
        assert row is not None
        return int(row[0])

    async def main() -> list[int]:
        await store.start()
        try:
            return await asyncio.gather(*(store.write(write) for _ in range(500)))
        finally:
            await store.stop()

    transactions = asyncio.run(main())
    assert sum(batches) == 500
    assert len(batches) < 500, "writes queued together commit together"
    assert len(set(transactions)) == len(batches), "one transaction per committed batch"


def test_an_unexpected_failure_fails_only_its_own_write(pg_database: Database) -> None:
    store = _store(pg_database, [])
    setup = connect(pg_database.url)
    setup.execute("CREATE TABLE t (n INTEGER)")
    setup.close()

    def good(n: int) -> Any:
        def write(tx: PostgresWriteTx, now: datetime) -> int:
            tx.conn.execute("INSERT INTO t VALUES (%s)", (n,))
            return n

        return write

    def broken(tx: PostgresWriteTx, now: datetime) -> None:
        tx.conn.execute("INSERT INTO t VALUES (-1)")
        raise RuntimeError("a bug")

    def bad_sql(tx: PostgresWriteTx, now: datetime) -> None:
        tx.conn.execute("INSERT INTO t VALUES ('not a number')")
        tx.conn.execute("SELECT 1").fetchone()

    def refused(tx: PostgresWriteTx, now: datetime) -> None:
        raise SoldOut("none left")

    async def main() -> list[object]:
        await store.start()
        try:
            jobs = [store.write(good(1)), store.write(broken), store.write(refused)]
            jobs += [store.write(bad_sql)]
            jobs += [store.write(good(n)) for n in range(2, 6)]
            return await asyncio.gather(*jobs, return_exceptions=True)
        finally:
            await store.stop()

    results = asyncio.run(main())
    assert results[0] == 1
    assert isinstance(results[1], RuntimeError)
    assert isinstance(results[2], SoldOut)
    assert isinstance(results[3], psycopg.errors.InvalidTextRepresentation)
    assert results[4:] == [2, 3, 4, 5]
    assert sorted(n for (n,) in pg_database.query("SELECT n FROM t")) == [1, 2, 3, 4, 5]


def test_no_transaction_spans_two_launches(pg_database: Database) -> None:
    """Orders of two launches, placed at once, share commits only with their own launch:
    rows written by one transaction carry the same xmin."""
    store = _store(pg_database, [])
    setup = connect(pg_database.url)
    setup.execute("CREATE TABLE t (launch TEXT, n INTEGER)")
    setup.close()

    def write(launch: str, n: int) -> Any:
        def insert(tx: PostgresWriteTx, now: datetime) -> None:
            tx.conn.execute("INSERT INTO t VALUES (%s, %s)", (launch, n))

        return insert

    async def main() -> None:
        await store.start()
        try:
            await asyncio.gather(
                *(
                    store.write(write(launch, n), Touches(launch))
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


def test_reads_do_not_wait_behind_a_writer(pg_database: Database, clock: SettableClock) -> None:
    with in_process(pg_database.settings(), clock) as (api, _app):
        api.create_launch()
        order = api.place("c-1").json()
        # Another connection holds the rows being read, mid-transaction.
        blocker = psycopg.connect(pg_database.url)
        blocker.execute("UPDATE variants SET placed = placed + 100")
        blocker.execute("UPDATE orders SET status = 'locked'")
        try:
            launch = api.get("/api/v1/launches/yu7-2025")
            read = api.get(f"/api/v1/orders/{order['id']}", headers=api.as_customer("c-1"))
        finally:
            blocker.rollback()
            blocker.close()
        assert launch.status_code == 200
        assert launch.json()["counts"]["placed"] == 1  # the last commit, not the open write
        assert read.json() == order


def test_migrations_are_recorded_and_applied_once(
    postgres: Any, clock: SettableClock, tmp_path: Any
) -> None:
    if postgres is None:
        pytest.skip("no PostgreSQL here: install Debian's postgresql or set LAUNCHDAY_TEST_PG")
    db = Database(postgres.create_database(migrated=False))

    async def start_together() -> None:
        # Three processes starting at once migrate once: the migration lock holds them.
        stores = [PostgresStore(db.url, lambda: T0) for _ in range(3)]
        await asyncio.gather(*(store.start() for store in stores))
        await asyncio.gather(*(store.stop() for store in stores))

    asyncio.run(start_together())
    names = [n for (n,) in db.query("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == [name for name, _ in POSTGRES_MIGRATIONS]


def test_orders_survive_a_restart(pg_database: Database, clock: SettableClock) -> None:
    with in_process(pg_database.settings(), clock) as (api, _app):
        api.create_launch()
        order = api.place("c-1").json()
    with in_process(pg_database.settings(), clock) as (api, _app):
        assert api.get(f"/api/v1/orders/{order['id']}", headers=api.admin()).json() == order
        assert api.place("c-1").json() == order  # the idempotent replay still works
        second = api.place("c-2").json()
    assert second["sequence"] > order["sequence"]
