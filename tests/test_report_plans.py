"""The report's queries use their indexes, on SQLite and PostgreSQL, over a launch of
many orders: each query the report sends is explained as sent (the dashboard's
per-tick query is checked in tests/test_dashboard.py).

Fifty thousand orders over the first hour, beside another launch's as many, are
enough for PostgreSQL's planner to prefer the indexes where they pay (it scans a table
of a few rows, or of one launch's rows alone, instead, and rightly).
The pass over every order (`order_pass`) and the count of registrations read all their
rows by design and are not checked here.
"""

from __future__ import annotations

from contextlib import closing
from datetime import timedelta
from typing import Any

import pytest

from launchday.analytics import build_report
from launchday.domain.clock import to_micros
from launchday.store.reads import snapshot_reads
from launchday.store.sql import Params, ReadConnection
from tests.bulk_orders import FIRST_SEQ, insert_orders
from tests.support import T0, Api, Database, SettableClock

ORDERS = 50_000


class Recording(ReadConnection):
    """Runs the queries, and keeps each one with its parameters."""

    def __init__(self, conn: Any) -> None:
        super().__init__(conn)
        self.sent: list[tuple[str, Params | None]] = []

    def all(self, sql: str, params: Params | None = None) -> list[tuple[Any, ...]]:
        self.sent.append((sql, params))
        return super().all(sql, params)

    def one(self, sql: str, params: Params | None = None) -> tuple[Any, ...] | None:
        self.sent.append((sql, params))
        return super().one(sql, params)


def plan(db: ReadConnection, sql: str, params: Params | None) -> str:
    """The plan of `sql`, one step a line: PostgreSQL's EXPLAIN, SQLite's QUERY PLAN."""
    if db.is_postgres:
        return "\n".join(row[0] for row in db.all(f"EXPLAIN {sql}", params))
    return "\n".join(str(row[3]) for row in db.all(f"EXPLAIN QUERY PLAN {sql}", params))


# What each of the report's range queries reads, by the column it ranges over, as
# (PostgreSQL, SQLite). PostgreSQL counts placements and cancellations from the index
# alone; the lock index is on an expression, which PostgreSQL cannot return from an
# index-only scan, so it visits the rows it finds (still only those in range).
EXPECTED = {
    "placed_at_us > lo": (
        "Index Only Scan using orders_by_launch_time",
        "USING COVERING INDEX orders_by_launch_time",
    ),
    "coalesce(locked_at_us, refundable_until_us) > lo": (
        "using orders_by_launch_lock",
        "USING INDEX orders_by_launch_lock",
    ),
    "cancelled_at_us > lo": (
        "Index Only Scan using orders_by_launch_cancel",
        "USING COVERING INDEX orders_by_launch_cancel",
    ),
    "AS k, count(*)": (
        "Index Only Scan using orders_by_launch_time",
        "USING COVERING INDEX orders_by_launch_time",
    ),
}


@pytest.fixture
def many_orders(api: Api, clock: SettableClock, database: Database) -> int:
    """A launch that opened at T0 with ORDERS orders over its first hour, beside an
    earlier launch of as many; returns the time of the last order of the first
    (microseconds). The clock stands at the end of that hour."""
    api.create_launch()
    api.create_launch(slug="su7-2024", opens_at=T0 - timedelta(days=365))
    bulk = insert_orders(database, 1, to_micros(T0), ORDERS)
    insert_orders(
        database, 2, to_micros(T0 - timedelta(days=365)), ORDERS, first_seq=FIRST_SEQ + ORDERS
    )
    clock.now = T0 + timedelta(hours=1)
    return bulk.last_placed_us


def test_the_reports_range_queries_read_their_indexes(
    many_orders: int, clock: SettableClock, database: Database
) -> None:
    with closing(database.connect()) as conn:
        db = Recording(conn)
        report = build_report(snapshot_reads(db), "yu7-2025", now=clock.now)
        assert report.orders.total == ORDERS
        assert report.orders.by_sku == {"YU7-MAX": ORDERS, "YU7-LTD": 0}
        checked = set()
        for sql, params in db.sent:
            for marker, (on_postgres, on_sqlite) in EXPECTED.items():
                if marker in sql:
                    steps = plan(ReadConnection(conn), sql, params)
                    expected = on_postgres if database.is_postgres else on_sqlite
                    assert expected in steps, f"{sql}\n{steps}"
                    assert "Seq Scan on orders" not in steps, steps
                    checked.add(marker)
    assert checked == set(EXPECTED)
