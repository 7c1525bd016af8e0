"""The embedded store: group commit, durability settings, failure isolation, free reads."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable
from datetime import datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from launchday.domain.errors import SoldOut
from launchday.schemas import LaunchSpec
from launchday.services import LaunchService, Placed
from launchday.store.migrations import SQLITE_MIGRATIONS
from launchday.store.sqlite import SQLiteStore, SQLiteWriteTx, connect, sqlite_path
from tests.support import (
    SECRET,
    T0,
    Api,
    SettableClock,
    in_process,
    launch_body,
    settings_for,
)


def _store(path: Path, batches: list[int]) -> SQLiteStore:
    return SQLiteStore(str(path), lambda: T0, on_commit=batches.append)


def test_sqlite_urls_name_relative_and_absolute_files() -> None:
    assert sqlite_path("sqlite:///./launchday.db") == "./launchday.db"
    assert sqlite_path("sqlite:///launchday.db") == "launchday.db"
    assert sqlite_path("sqlite:////var/lib/launchday.db") == "/var/lib/launchday.db"
    with pytest.raises(ValueError, match="sqlite:///"):
        sqlite_path("postgresql://localhost/x")


def test_the_database_runs_in_wal_mode_with_full_fsync(tmp_path: Path) -> None:
    conn = connect(str(tmp_path / "x.db"))
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    conn.close()


def test_concurrent_writes_share_commits(tmp_path: Path) -> None:
    batches: list[int] = []
    store = _store(tmp_path / "x.db", batches)

    def write(tx: SQLiteWriteTx, now: datetime) -> int:
        return tx._conn.execute("SELECT 1").fetchone()[0]  # type: ignore[no-any-return]

    async def main() -> list[int]:
        await store.start()
        try:
            return await asyncio.gather(*(store.write(write) for _ in range(500)))
        finally:
            await store.stop()

    assert asyncio.run(main()) == [1] * 500
    assert sum(batches) == 500
    assert len(batches) < 500, "writes queued together commit together"


def test_an_unexpected_failure_fails_only_its_own_write(tmp_path: Path) -> None:
    store = _store(tmp_path / "x.db", [])
    path = tmp_path / "x.db"

    def good(n: int):  # type: ignore[no-untyped-def]
        def write(tx: SQLiteWriteTx, now: datetime) -> int:
            tx._conn.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
            tx._conn.execute("INSERT INTO t VALUES (?)", (n,))
            return n

        return write

    def broken(tx: SQLiteWriteTx, now: datetime) -> None:
        tx._conn.execute("INSERT INTO t VALUES (-1)")
        raise RuntimeError("a bug")

    def refused(tx: SQLiteWriteTx, now: datetime) -> None:
        raise SoldOut("none left")

    async def main() -> list[object]:
        await store.start()
        try:
            jobs = [store.write(good(1)), store.write(broken), store.write(refused)]
            jobs += [store.write(good(n)) for n in range(2, 6)]
            return await asyncio.gather(*jobs, return_exceptions=True)
        finally:
            await store.stop()

    results = asyncio.run(main())
    assert results[0] == 1
    assert isinstance(results[1], RuntimeError)
    assert isinstance(results[2], SoldOut)
    assert results[3:] == [2, 3, 4, 5]
    with sqlite3.connect(path) as conn:
        assert sorted(n for (n,) in conn.execute("SELECT n FROM t")) == [1, 2, 3, 4, 5]


def test_reads_do_not_wait_behind_a_writer(tmp_path: Path, clock: SettableClock) -> None:
    db = tmp_path / "launchday.db"
    with in_process(settings_for(db), clock) as (api, _app):
        api.create_launch()
        order = api.place("c-1").json()
        # Another connection takes the write lock and holds it, mid-transaction.
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        blocker.execute("UPDATE variants SET placed = placed + 100")
        try:
            launch = api.get("/api/v1/launches/yu7-2025")
            read = api.get(f"/api/v1/orders/{order['id']}", headers=api.as_customer("c-1"))
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert launch.status_code == 200
        assert launch.json()["counts"]["placed"] == 1  # the last commit, not the open write
        assert read.json() == order


def test_migrations_are_recorded_and_applied_once(tmp_path: Path, clock: SettableClock) -> None:
    db = tmp_path / "launchday.db"
    for _ in range(2):
        with in_process(settings_for(db), clock) as (api, _app):
            api.get("/healthz")
    with sqlite3.connect(db) as conn:
        names = [n for (n,) in conn.execute("SELECT name FROM schema_migrations")]
    assert names == [name for name, _ in SQLITE_MIGRATIONS]


def test_orders_survive_a_restart(tmp_path: Path, clock: SettableClock) -> None:
    db = tmp_path / "launchday.db"
    with in_process(settings_for(db), clock) as (api, _app):
        api.create_launch()
        order = api.place("c-1").json()
    with in_process(settings_for(db), clock) as (api, _app):
        again: Api = api
        assert again.get(f"/api/v1/orders/{order['id']}", headers=api.admin()).json() == order
        assert again.place("c-1").json() == order  # the idempotent replay still works


def test_a_batch_rolled_back_after_a_bug_keeps_stock_limits_and_history_exact(
    tmp_path: Path,
) -> None:
    """The writer keeps counts in memory and defers counters and events to the commit:
    a batch that fails over and is replayed write by write must still count each order
    once, refuse what is over the limit, and record each event once."""
    path = tmp_path / "x.db"
    batches: list[int] = []
    now = T0 + timedelta(minutes=1)
    store = SQLiteStore(str(path), lambda: now, on_commit=batches.append)
    service = LaunchService(store, lambda: now, SECRET)
    spec = msgspec.json.decode(msgspec.json.encode(launch_body()), type=LaunchSpec)
    gate = threading.Event()

    def hold(tx: SQLiteWriteTx, now: datetime) -> None:
        gate.wait(10)

    def broken(tx: SQLiteWriteTx, now: datetime) -> None:
        tx._conn.execute("UPDATE variants SET placed = placed + 1000")
        raise RuntimeError("a bug")

    async def main() -> list[object]:
        await store.start()
        try:
            await service.create_launch(spec)
            # The writer waits in `hold` while the rest queue up behind it as one batch;
            # the bug in that batch makes the writer roll back and replay each write alone.
            held = asyncio.ensure_future(store.write(hold))
            await asyncio.sleep(0.05)
            jobs: list[Awaitable[object]] = [
                service.place_order("yu7-2025", f"c-{n}", "k", "YU7-MAX", None) for n in range(3)
            ]
            jobs += [store.write(broken)]
            jobs += [service.place_order("yu7-2025", "c-0", "k2", "YU7-MAX", None)]
            jobs += [service.place_order("yu7-2025", "c-0", "k", "YU7-MAX", None)]
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
    assert batches[1:] == [1] * 7, "the batch with the bug was replayed write by write"
    first, replay = results[0], results[5]
    assert isinstance(first, Placed)
    assert isinstance(replay, Placed)
    assert replay.replayed
    assert replay.order == first.order
    with sqlite3.connect(path) as conn:
        counts = conn.execute("SELECT placed, cancelled FROM variants WHERE sku = 'YU7-MAX'")
        assert counts.fetchone() == (3, 0)
        events = conn.execute("SELECT order_seq, status FROM order_events ORDER BY rowid")
        assert events.fetchall() == [
            (r.order.sequence, "reserved") for r in results[:3] if isinstance(r, Placed)
        ]


def test_stock_and_limits_hold_across_a_restart(tmp_path: Path, clock: SettableClock) -> None:
    """What the writer keeps in memory is read back from the database after a restart."""
    db = tmp_path / "launchday.db"
    variants = launch_body()["variants"]
    variants[1]["stock"] = 2
    with in_process(settings_for(db), clock) as (api, _app):
        api.create_launch(variants=variants)
        assert api.place("c-1", sku="YU7-LTD").status_code == 201
    with in_process(settings_for(db), clock) as (api, _app):
        again = api.place("c-1", sku="YU7-LTD", key="another")
        assert again.json()["error"]["code"] == "limit_reached"
        assert api.place("c-2", sku="YU7-LTD").status_code == 201
        assert api.place("c-3", sku="YU7-LTD").json()["error"]["code"] == "sold_out"
