"""The launch report, checked figure by figure against small launches worked out by hand.

Each test drives the real app in-process (orders placed, locked and cancelled and
interest registered at times the settable clock decides), then reads the database
through a connection of its own, as the report command does: a read-only SQLite
connection, or a psycopg one. Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import msgspec
import psycopg
import pytest
from psycopg.pq import TransactionStatus

from launchday.analytics import Report, build_report
from launchday.analytics.build import load_launch, points_at
from launchday.analytics.report import (
    MINUTE_SERIES_SECONDS,
    SECOND_SERIES_SECONDS,
    milestone_offsets,
    rebin,
    series_length,
)
from launchday.domain.clock import rfc3339, to_micros
from launchday.domain.errors import NotFound, ValidationFailed
from launchday.store import postgres, sqlite
from launchday.store.reads import snapshot_reads
from launchday.store.schema import REPORT_INDEXES
from launchday.store.sql import Connection, Params, ReadConnection
from tests.support import Api, Database, SettableClock

SECOND = timedelta(seconds=1)


@pytest.fixture
def reader(database: Database) -> Iterator[Connection]:
    """A connection of its own to the app's database (SQLite opens its file lazily)."""
    conn = database.connect()
    yield conn
    conn.close()


def register(api: Api, slug: str, customer: str, **profile: Any) -> None:
    response = api.post(
        f"/api/v1/launches/{slug}/interest",
        json={"profile": profile},
        headers=api.as_customer(customer),
    )
    assert response.status_code == 201, response.text


def place(api: Api, slug: str, customer: str, sku: str = "YU7-MAX", **profile: Any) -> str:
    body = {"profile": profile} if profile else {}
    response = api.place(customer, sku, slug=slug, **body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def change(api: Api, order_id: str, customer: str, action: str) -> None:
    response = api.post(f"/api/v1/orders/{order_id}/{action}", headers=api.as_customer(customer))
    assert response.status_code == 200, response.text


# --- one launch, worked out by hand --------------------------------------------------
#
# Interest opens at I (16:00), orders at O (17:00). The launch deposit is refundable
# for half an hour (1800 s); YU7-LTD has a zero-hour window. Times after O, seconds:
#
#   order  customer  sku      placed  own profile          then             lock time
#   o0     c-7       MAX      0       F, F, android        -                1800 window
#   o1     c-1       MAX      0.5     -                    locked at 90     90 early
#   o2     c-2       MAX      1.0     phone other          cancelled at 150 never
#   o3     c-5       LTD      2.5     T, T, ios            -                2.5 placement
#   o4     c-3       MAX      45      -                    -                1845 window
#   o5     c-6       MAX      61      -                    -                1861 window
#   o6     c-9       MAX      70      -                    -                1870 window
#
# Registrations (first car, new to brand, phone): c-1 T,F,ios at I; c-2 F,T,android at
# I+10m; c-3 -,-,ios at I+20m; c-4 -,-,- at I+30m; c-9 T,-,ios at O+50; c-6 -,-,ios at
# O+100 (after its order o5 was placed).


@pytest.fixture
def launch_room(api: Api, clock: SettableClock) -> datetime:
    """The launch above, played out; returns its opening time O. The clock ends at O+2000."""
    interest_opens = clock.now
    opens = interest_opens + timedelta(hours=1)
    api.create_launch(
        opens_at=opens,
        interest_opens_at=rfc3339(interest_opens),
        deposit={"amount": 5000, "refundable_hours": 0.5},
        report_milestones=[10, 60, 1800, 1900],
    )
    slug = "yu7-2025"
    register(api, slug, "c-1", first_car_with_brand=True, new_to_brand=False, phone="ios")
    clock.advance(minutes=10)
    register(api, slug, "c-2", first_car_with_brand=False, new_to_brand=True, phone="android")
    clock.advance(minutes=10)
    register(api, slug, "c-3", phone="ios")
    clock.advance(minutes=10)
    register(api, slug, "c-4")

    def at(seconds: float) -> None:
        clock.now = opens + timedelta(seconds=seconds)

    at(0)
    place(api, slug, "c-7", first_car_with_brand=False, new_to_brand=False, phone="android")
    at(0.5)
    o1 = place(api, slug, "c-1")
    at(1.0)
    o2 = place(api, slug, "c-2", phone="other")
    at(2.5)
    place(api, slug, "c-5", "YU7-LTD", first_car_with_brand=True, new_to_brand=True, phone="ios")
    at(45)
    place(api, slug, "c-3")
    at(50)
    register(api, slug, "c-9", first_car_with_brand=True, phone="ios")
    at(61)
    place(api, slug, "c-6")
    at(70)
    place(api, slug, "c-9")
    at(90)
    change(api, o1, "c-1", "lock")
    at(100)
    register(api, slug, "c-6", phone="ios")
    at(150)
    change(api, o2, "c-2", "cancel")
    at(2000)
    return opens


def test_totals_by_status_sku_lock_kind_and_cancellation(
    launch_room: datetime, clock: SettableClock, reader: Connection
) -> None:
    report = build_report(snapshot_reads(reader), "yu7-2025", now=clock.now)
    assert report.launch == "yu7-2025"
    assert report.elapsed_seconds == 2000
    assert report.as_of == report.generated_at == "2026-11-22T17:33:20Z"
    assert report.orders.total == 7  # the cancelled o2 included
    assert msgspec.to_builtins(report.orders.by_status) == {
        "reserved": 0,
        "locked": 6,
        "cancelled": 1,
    }
    assert report.orders.by_sku == {"YU7-MAX": 6, "YU7-LTD": 1}
    # o3 at placement; o1 early; o0, o4, o5, o6 when their window ended.
    assert msgspec.to_builtins(report.locked) == {
        "total": 6,
        "at_placement": 1,
        "early": 1,
        "window_ended": 4,
        "deposits": 20000 + 5 * 5000,
    }
    assert msgspec.to_builtins(report.cancellations) == {"count": 1, "refunded_amount": 5000}


def test_milestones_count_orders_placed_and_locks_by_their_lock_time(
    launch_room: datetime, clock: SettableClock, reader: Connection
) -> None:
    report = build_report(snapshot_reads(reader), "yu7-2025", now=clock.now)
    figures = [(m.after_seconds, m.orders, m.locked, m.cancelled) for m in report.milestones]
    assert figures == [
        (10, 4, 1, 0),  # o0-o3 placed; o3 firm from placement
        (60, 5, 1, 0),  # 60 is standard and the launch's own: listed once
        (120, 7, 2, 0),  # o1 locked early at 90
        (180, 7, 2, 1),  # o2 cancelled at 150
        (600, 7, 2, 1),
        (1800, 7, 3, 1),  # o0's window ends at exactly 1800: locked at 1800
        (1900, 7, 6, 1),  # o4, o5, o6 too; o2 never, though its window would have ended
    ]
    assert report.milestones[0].at == rfc3339(launch_room + 10 * SECOND)


def test_the_series_count_right_closed_seconds_and_minutes(
    launch_room: datetime, clock: SettableClock, reader: Connection
) -> None:
    report = build_report(snapshot_reads(reader), "yu7-2025", now=clock.now)
    per_second = report.series.orders
    assert report.series.step_seconds == 1
    assert len(per_second) == 2001  # the opening instant, then (0, 1] .. (1999, 2000]
    nonzero = {k: n for k, n in enumerate(per_second) if n}
    assert nonzero == {0: 1, 1: 2, 3: 1, 45: 1, 61: 1, 70: 1}  # o1 at 0.5 and o2 at 1.0 in (0, 1]
    assert report.series_per_minute.step_seconds == 60
    assert len(report.series_per_minute.orders) == 35  # 2000 s is 33.3 minutes: 0 .. 34
    assert report.series_per_minute.orders[:4] == [1, 4, 2, 0]
    assert sum(report.series_per_minute.orders) == 7
    # A prefix sum of the series is the cumulative count, as at a milestone.
    assert sum(per_second[: 60 + 1]) == next(
        m.orders for m in report.milestones if m.after_seconds == 60
    )


def test_interest_and_buyer_shares_are_over_those_who_answered(
    launch_room: datetime, clock: SettableClock, reader: Connection
) -> None:
    report = build_report(snapshot_reads(reader), "yu7-2025", now=clock.now)
    interest = report.interest
    assert interest.registrations == 6
    assert msgspec.to_builtins(interest.answered) == {
        "first_car_with_brand": 3,  # c-1 T, c-2 F, c-9 T
        "new_to_brand": 2,  # c-1 F, c-2 T
        "phone": 5,  # c-1, c-3, c-9, c-6 ios; c-2 android
    }
    assert (interest.first_car_with_brand, interest.new_to_brand, interest.apple_users) == (
        2 / 3,
        1 / 2,
        4 / 5,
    )
    buyers = report.buyers
    assert buyers.orders == 7
    assert buyers.registered == 5  # o1, o2, o4, o5, o6
    assert msgspec.to_builtins(buyers.answered) == {
        "first_car_with_brand": 5,  # o0 F own, o1 T reg, o2 F reg, o3 T own, o6 T reg
        "new_to_brand": 4,  # o0 F own, o1 F reg, o2 T reg, o3 T own
        "phone": 7,  # o2's own "other" wins over its registration's android
    }
    assert (buyers.first_car_with_brand, buyers.new_to_brand, buyers.apple_users) == (
        3 / 5,
        2 / 4,
        5 / 7,  # o1, o3, o4, o5, o6
    )


def test_a_report_as_of_an_earlier_time_reads_the_state_then(
    launch_room: datetime, clock: SettableClock, reader: Connection
) -> None:
    report = build_report(
        snapshot_reads(reader), "yu7-2025", at=launch_room + 90 * SECOND, now=clock.now
    )
    assert report.as_of == rfc3339(launch_room + 90 * SECOND)
    assert report.elapsed_seconds == 90
    assert report.orders.total == 7
    # o3 and o1 (locked at exactly 90) are locked; o2 is not cancelled yet.
    assert msgspec.to_builtins(report.orders.by_status) == {
        "reserved": 5,
        "locked": 2,
        "cancelled": 0,
    }
    assert [(m.after_seconds, m.orders, m.locked) for m in report.milestones] == [
        (10, 4, 1),
        (60, 5, 1),
    ]
    assert len(report.series.orders) == 91
    assert report.series_per_minute.orders == [1, 4, 2]
    # c-6 registered at 100: at 90 its order o5 has no answers and no registration.
    assert report.buyers.registered == 4
    assert report.buyers.answered.phone == 6
    assert report.buyers.apple_users == 4 / 6
    assert report.interest.registrations == 5


def test_an_at_past_the_launch_clock_reports_the_present(
    launch_room: datetime, clock: SettableClock, reader: Connection
) -> None:
    later = build_report(
        snapshot_reads(reader), "yu7-2025", at=clock.now + timedelta(days=30), now=clock.now
    )
    assert later == build_report(snapshot_reads(reader), "yu7-2025", now=clock.now)


def test_a_window_that_ends_later_locks_the_order_in_later_reports(
    launch_room: datetime, clock: SettableClock, reader: Connection
) -> None:
    before = build_report(
        snapshot_reads(reader), "yu7-2025", at=launch_room + 1844 * SECOND, now=clock.now
    )
    at_end = build_report(
        snapshot_reads(reader), "yu7-2025", at=launch_room + 1845 * SECOND, now=clock.now
    )
    assert (before.orders.by_status.locked, before.orders.by_status.reserved) == (3, 3)
    assert (at_end.orders.by_status.locked, at_end.orders.by_status.reserved) == (4, 2)
    assert at_end.locked.window_ended == 2  # o0 at 1800, o4 at 1845


def test_lock_and_cancel_counts_at_milestones_come_from_the_report_indexes(
    launch_room: datetime, clock: SettableClock, reader: Connection, database: Database
) -> None:
    db = ReadConnection(reader)
    launch_id, launch = load_launch(snapshot_reads(db), "yu7-2025")
    offsets = [10, 60, 120, 180, 600, 1800, 1900]
    points = points_at(snapshot_reads(db), launch_id, to_micros(launch.opens_at), offsets)
    assert [p.locked for p in points] == [1, 1, 2, 2, 2, 3, 6]
    queries = (
        "SELECT count(*) FROM orders WHERE launch_id = 1 AND status != 'cancelled'"
        " AND coalesce(locked_at_us, refundable_until_us) <= 5",
        "SELECT count(*) FROM orders WHERE launch_id = 1 AND cancelled_at_us <= 5",
    )
    if database.is_postgres:
        # Seven rows are quicker to scan than to look up: this asks whether the indexes
        # match the queries at all (tests/test_report_plans.py has the planner's choice
        # over many orders).
        reader.execute("SET enable_seqscan = off")
        plans = " ".join(row[0] for sql in queries for row in db.all(f"EXPLAIN {sql}"))
    else:
        plans = " ".join(str(row) for sql in queries for row in db.all(f"EXPLAIN QUERY PLAN {sql}"))
    assert all(name in plans for name in REPORT_INDEXES), plans


def test_the_stores_own_connection_reads_the_same_report_and_ends_its_snapshot(
    launch_room: datetime, clock: SettableClock, reader: Connection, database: Database
) -> None:
    if database.is_postgres:
        conn: Connection = postgres.connect(database.url)
    else:
        conn = sqlite.connect(sqlite.sqlite_path(database.url), readonly=True)
    try:
        assert build_report(snapshot_reads(conn), "yu7-2025", now=clock.now) == build_report(
            snapshot_reads(reader), "yu7-2025", now=clock.now
        )
        if isinstance(conn, psycopg.Connection):
            assert conn.info.transaction_status == TransactionStatus.IDLE
        else:
            assert not conn.in_transaction, "the report's snapshot is closed"
    finally:
        conn.close()


class WritesAfterTheFirstRead(ReadConnection):
    """A connection on which someone else commits an order once the report has begun."""

    def __init__(self, conn: Connection, write: Callable[[], None]) -> None:
        super().__init__(conn)
        self.write: Callable[[], None] | None = write
        self.reads = 0

    def all(self, sql: str, params: Params | None = None) -> list[tuple[Any, ...]]:
        rows = super().all(sql, params)
        self._after_read()
        return rows

    def one(self, sql: str, params: Params | None = None) -> tuple[Any, ...] | None:
        row = super().one(sql, params)
        self._after_read()
        return row

    def _after_read(self) -> None:
        self.reads += 1
        if self.write is not None:
            write, self.write = self.write, None
            write()


def test_an_order_committed_while_the_report_runs_is_in_none_of_its_figures(
    launch_room: datetime, api: Api, clock: SettableClock, reader: Connection
) -> None:
    committed: list[str] = []
    conn = WritesAfterTheFirstRead(
        reader, lambda: committed.append(place(api, "yu7-2025", "c-late", "YU7-LTD"))
    )
    report = build_report(snapshot_reads(conn), "yu7-2025", now=clock.now)
    assert committed
    assert conn.reads > 5
    # The snapshot was taken at the first read: the late order is nowhere in it.
    assert report.orders.total == 7
    assert report.orders.by_sku == {"YU7-MAX": 6, "YU7-LTD": 1}
    assert report.locked.at_placement == 1
    assert sum(report.series.orders) == sum(report.series_per_minute.orders) == 7
    assert report.milestones[-1].orders == 7
    assert report.buyers.orders == 7
    after = build_report(snapshot_reads(reader), "yu7-2025", now=clock.now)
    assert after.orders.total == sum(after.series.orders) == 8


def test_the_report_has_the_documented_json_shape(
    launch_room: datetime, clock: SettableClock, reader: Connection
) -> None:
    report = build_report(snapshot_reads(reader), "yu7-2025", now=clock.now)
    encoded = msgspec.json.encode(report)
    assert msgspec.json.decode(encoded, type=Report) == report
    body = msgspec.json.decode(encoded)
    assert {"launch", "elapsed_seconds", "orders", "milestones", "series"} <= set(body)
    assert {"interest", "buyers", "compare"} <= set(body)
    assert set(body["orders"]) >= {"total", "by_status", "by_sku"}
    assert set(body["orders"]["by_status"]) == {"reserved", "locked", "cancelled"}
    assert set(body["milestones"][0]) >= {"after_seconds", "orders", "locked"}
    assert set(body["series"]) == {"step_seconds", "orders"}
    assert set(body["interest"]) >= {
        "registrations",
        "first_car_with_brand",
        "new_to_brand",
        "apple_users",
    }
    assert "apple_users" in body["buyers"]
    assert body["compare"] is None


# --- a rehearsal at 60 times real time -------------------------------------------------


def test_a_time_scaled_launch_reports_in_launch_time(
    api: Api, clock: SettableClock, reader: Connection
) -> None:
    opens = clock.now
    api.create_launch(opens_at=opens, time_scale=60, report_milestones=[30])
    real = {"a": 0.5, "b": 1.5, "c": 2, "d": 10, "e": 60}  # launch: 30, 90, 120, 600, 3600 s
    ids = {}
    for customer, seconds in real.items():
        clock.now = opens + timedelta(seconds=seconds)
        ids[customer] = place(api, "yu7-2025", customer)
        if customer == "c":
            clock.now = opens + 3 * SECOND  # launch 180 s
            change(api, ids["b"], "b", "lock")
    clock.now = opens + 61 * SECOND  # launch 3660 s
    report = build_report(snapshot_reads(reader), "yu7-2025", now=clock.now)
    assert report.time_scale == 60
    assert report.generated_at == rfc3339(opens + 61 * SECOND)
    assert report.as_of == rfc3339(opens + 3660 * SECOND)
    assert report.elapsed_seconds == 3660
    assert [(m.after_seconds, m.orders, m.locked) for m in report.milestones] == [
        (30, 1, 0),
        (60, 1, 0),
        (120, 3, 0),
        (180, 3, 1),  # b locked at launch 180
        (600, 4, 1),
        (3600, 5, 1),  # e placed at exactly launch 3600
    ]
    assert report.milestones[-1].at == rfc3339(opens + 3600 * SECOND)
    assert len(report.series.orders) == 3601  # the per-second series stops at one hour
    assert {k: n for k, n in enumerate(report.series.orders) if n} == {
        30: 1,
        90: 1,
        120: 1,
        600: 1,
        3600: 1,
    }
    assert len(report.series_per_minute.orders) == 62  # 61 minutes begun, and the instant
    assert {k: n for k, n in enumerate(report.series_per_minute.orders) if n} == {
        1: 1,
        2: 2,
        10: 1,
        60: 1,
    }


# --- comparing launches ---------------------------------------------------------------
#
# su7-2024: interest from 16:00, orders from 18:00; registrations at 16:10, 16:50 and
# 17:30; orders at 20, 60, 61 and 100 s. yu7-2025: interest from 18:30, orders from
# 19:30 (a one-hour window); registrations at 18:35, 18:50, 19:10, 19:25 and 19:30:10;
# orders at 5, 30, 59, 60, 61, 119 and 200 s. Reports at 19:30 + 700 s.


@pytest.fixture
def two_launches(api: Api, clock: SettableClock) -> datetime:
    """The launches above; returns yu7-2025's opening time."""
    start = clock.now
    su7_opens = start + timedelta(hours=2)
    yu7_interest = start + timedelta(hours=2, minutes=30)
    yu7_opens = yu7_interest + timedelta(hours=1)
    api.create_launch(
        slug="su7-2024",
        opens_at=su7_opens,
        interest_opens_at=rfc3339(start),
        report_milestones=[10],
    )
    api.create_launch(
        slug="yu7-2025",
        opens_at=yu7_opens,
        interest_opens_at=rfc3339(yu7_interest),
        report_milestones=[10],
    )
    api.create_launch(slug="no-interest-window", opens_at=start, report_milestones=[])
    register(api, "no-interest-window", "n-1")
    for minutes, customer in ((10, "s-1"), (50, "s-2"), (90, "s-3")):
        clock.now = start + timedelta(minutes=minutes)
        register(api, "su7-2024", customer)
    for seconds in (20, 60, 61, 100):
        clock.now = su7_opens + seconds * SECOND
        place(api, "su7-2024", f"s-{seconds}")
    for minutes, customer in ((5, "y-1"), (20, "y-2"), (40, "y-3"), (55, "y-4")):
        clock.now = yu7_interest + timedelta(minutes=minutes)
        register(api, "yu7-2025", customer)
    clock.now = yu7_opens + 10 * SECOND
    register(api, "yu7-2025", "y-5")  # after opening: outside the interest window
    for seconds in (5, 30, 59, 60, 61, 119, 200):
        clock.now = yu7_opens + seconds * SECOND
        place(api, "yu7-2025", f"y-order-{seconds}")
    clock.now = yu7_opens + 700 * SECOND
    return yu7_opens


def test_compare_gives_order_ratios_at_shared_milestones_and_the_interest_ratio(
    two_launches: datetime, clock: SettableClock, reader: Connection
) -> None:
    report = build_report(snapshot_reads(reader), "yu7-2025", compare="su7-2024", now=clock.now)
    assert report.compare is not None
    assert report.compare.launch == "su7-2024"
    assert [
        (r.after_seconds, r.orders, r.other_orders, r.ratio) for r in report.compare.orders_ratio_at
    ] == [
        (10, 1, 0, None),  # su7 had no order by 10 s
        (60, 4, 2, 2.0),
        (120, 6, 4, 1.5),
        (180, 6, 4, 1.5),
        (600, 7, 4, 1.75),
    ]
    # One hour after each one's interest opened: yu7 4 (not 19:30:10), su7 2 (not 17:30).
    assert report.compare.interest_window_seconds == 3600
    assert (report.compare.registrations, report.compare.other_registrations) == (4, 2)
    assert report.compare.interest_ratio == 2.0
    assert report.interest.registrations == 5


def test_compare_leaves_out_milestones_the_other_launch_has_not_reached(
    two_launches: datetime, clock: SettableClock, reader: Connection
) -> None:
    report = build_report(snapshot_reads(reader), "su7-2024", compare="yu7-2025", now=clock.now)
    assert [m.after_seconds for m in report.milestones] == [10, 60, 120, 180, 600, 3600]
    assert report.compare is not None
    assert [(r.after_seconds, r.ratio) for r in report.compare.orders_ratio_at] == [
        (10, 0.0),
        (60, 2 / 4),
        (120, 4 / 6),
        (180, 4 / 6),
        (600, 4 / 7),
    ]
    # su7's window is two hours: its 3 against yu7's 5 (all it has, 700 s after opening).
    assert report.compare.interest_window_seconds == 7200
    assert report.compare.interest_ratio == 3 / 5


def test_compare_with_a_launch_without_interest_opening_uses_whole_counts(
    two_launches: datetime, clock: SettableClock, reader: Connection
) -> None:
    report = build_report(
        snapshot_reads(reader), "yu7-2025", compare="no-interest-window", now=clock.now
    )
    assert report.compare is not None
    assert report.compare.interest_window_seconds is None
    assert (report.compare.registrations, report.compare.other_registrations) == (5, 1)
    assert report.compare.interest_ratio == 5.0
    assert all(r.ratio is None for r in report.compare.orders_ratio_at)


def test_a_report_before_opening_has_interest_but_no_orders(
    two_launches: datetime, clock: SettableClock, reader: Connection
) -> None:
    report = build_report(
        snapshot_reads(reader), "yu7-2025", at=two_launches - SECOND, now=clock.now
    )
    assert report.elapsed_seconds == 0
    assert report.orders.total == 0
    assert report.milestones == []
    assert report.series.orders == report.series_per_minute.orders == []
    assert report.interest.registrations == 4
    assert report.buyers.first_car_with_brand is None


def test_unknown_launches_and_naive_times_are_refused(
    two_launches: datetime, clock: SettableClock, reader: Connection
) -> None:
    with pytest.raises(NotFound) as unknown:
        build_report(snapshot_reads(reader), "no-such-launch", now=clock.now)
    assert unknown.value.field == "slug"
    with pytest.raises(NotFound) as unknown_other:
        build_report(snapshot_reads(reader), "yu7-2025", compare="no-such-launch", now=clock.now)
    assert unknown_other.value.field == "compare"
    with pytest.raises(ValidationFailed):
        build_report(snapshot_reads(reader), "yu7-2025", now=clock.now.replace(tzinfo=None))


# --- the pure rules ---------------------------------------------------------------------


def test_milestones_are_the_standard_ones_and_the_launchs_own_once_reached() -> None:
    us = 1_000_000
    assert milestone_offsets(59 * us + 999_999) == []
    assert milestone_offsets(60 * us, [60, 10]) == [10, 60]
    assert milestone_offsets(604_800 * us, [5]) == [
        5,
        60,
        120,
        180,
        600,
        3600,
        64_800,
        86_400,
        259_200,
        604_800,
    ]


def test_series_buckets_are_right_closed_and_rebin_to_minutes() -> None:
    assert series_length(-1, 1, 3600) == 0
    assert series_length(0, 1, 3600) == 1
    assert series_length(1, 1, 3600) == 2  # one microsecond in: (0, 1] has begun
    assert series_length(7200 * 1_000_000, 1, 3600) == 3601
    seconds = [7] + [1] * 120 + [5]
    assert rebin(seconds, 60) == [7, 60, 60, 5]
    # The per-minute series adds up whole minutes of the per-second one.
    assert SECOND_SERIES_SECONDS % 60 == 0
    assert SECOND_SERIES_SECONDS <= MINUTE_SERIES_SECONDS


# --- through the API ----------------------------------------------------------------------


def test_the_report_endpoint_serves_the_report_read_from_the_store(
    launch_room: datetime, api: Api, clock: SettableClock, reader: Connection
) -> None:
    served = api.get("/api/v1/launches/yu7-2025/report", headers=api.admin())
    assert served.status_code == 200, served.text
    expected = build_report(snapshot_reads(reader), "yu7-2025", now=clock.now)
    assert served.json() == msgspec.to_builtins(expected)
    assert served.json()["orders"]["total"] == 7


def test_the_report_endpoint_compares_and_refuses_what_it_should(
    two_launches: datetime, api: Api, clock: SettableClock
) -> None:
    path = "/api/v1/launches/yu7-2025/report"
    compared = api.get(f"{path}?compare=su7-2024", headers=api.admin())
    assert compared.status_code == 200, compared.text
    assert compared.json()["compare"]["interest_ratio"] == 2.0
    assert api.get(path).status_code == 401
    assert api.get(path, headers=api.as_customer("c-1")).status_code == 403
    unknown = api.get("/api/v1/launches/nope/report", headers=api.admin())
    assert unknown.status_code == 404
    assert unknown.json()["error"]["field"] == "slug"
    other = api.get(f"{path}?compare=nope", headers=api.admin())
    assert other.status_code == 404
    assert other.json()["error"]["field"] == "compare"
