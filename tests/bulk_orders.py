"""Many orders and registrations written straight into a test database, SQLite or
PostgreSQL alike, for the tests that look at query plans: the API would take minutes
to place as many, and the planner's choices depend on how many rows there are.

The rows come from one recursive query, the same SQL on both databases. They are the
store's rows as far as the report and the dashboard read them (the variants' counters
are left as they were).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import psycopg

from launchday.store.sql import to_pyformat
from launchday.store.sqlite import sqlite_path
from tests.support import Database

US = 1_000_000
WINDOW_US = 168 * 3600 * US
# Above any `seq` the API hands out in a test, so that both can be in one table.
FIRST_SEQ = 10_000_000

# k counts in BIGINT, so that PostgreSQL's `k * :step` does not overflow an INTEGER.
_NUMBERS = (
    "WITH RECURSIVE n(k) AS"
    " (SELECT CAST(0 AS BIGINT) UNION ALL SELECT k + 1 FROM n WHERE k + 1 < :count)"
)

# Order k: placed `k * :step` after opening; one in 20 cancelled a minute later, nine in
# 20 locked early half a minute later, the rest reserved for the 7-day window; one in
# three answered the phone question itself.
_ORDERS = f"""
    {_NUMBERS}
    INSERT INTO orders (seq, id, launch_id, sku, customer, idempotency_key, request_hash,
        status, deposit_amount, placed_at_us, refundable_until_us, locked_at_us,
        cancelled_at_us, refund_amount, phone)
    SELECT :first + k, 'bulk-' || :launch || '-' || k, :launch, :sku, 'bulk-c-' || k, 'k', :hash,
        CASE WHEN k % 20 = 0 THEN 'cancelled' WHEN k % 20 < 10 THEN 'locked' ELSE 'reserved' END,
        5000, :opens + k * :step, :opens + k * :step + :window,
        CASE WHEN k % 20 BETWEEN 1 AND 9 THEN :opens + k * :step + 30000000 END,
        CASE WHEN k % 20 = 0 THEN :opens + k * :step + 60000000 END,
        CASE WHEN k % 20 = 0 THEN 5000 END,
        CASE WHEN k % 3 = 0 THEN 'ios' END
    FROM n
"""
# Three customers in five registered, before the opening.
_INTEREST = f"""
    {_NUMBERS}
    INSERT INTO interest (launch_id, customer, registered_at_us, phone)
    SELECT :launch, 'bulk-c-' || k, :opens - 3600000000 + k, 'android'
    FROM n WHERE k % 5 < 3
"""


@dataclass(frozen=True)
class Bulk:
    """What `insert_orders` wrote: how many orders, and when the last one was placed."""

    orders: int
    last_placed_us: int


def insert_orders(
    database: Database,
    launch_id: int,
    opens_us: int,
    count: int,
    *,
    span_seconds: int = 3600,
    sku: str = "YU7-MAX",
    first_seq: int = FIRST_SEQ,
) -> Bulk:
    """`count` orders of launch `launch_id`, spread evenly over `span_seconds` after
    opening, and registrations for three customers in five; then the planner's
    statistics (and on PostgreSQL the visibility map) brought up to date."""
    step = span_seconds * US // count
    params = {
        "count": count,
        "first": first_seq,
        "launch": launch_id,
        "sku": sku,
        "hash": b"\x00",
        "opens": opens_us,
        "step": step,
        "window": WINDOW_US,
    }
    if database.is_postgres:
        with psycopg.connect(database.url, autocommit=True) as pg:
            for sql in (_ORDERS, _INTEREST):
                pg.execute(to_pyformat(sql), params)
            pg.execute("VACUUM ANALYZE orders")
            pg.execute("VACUUM ANALYZE interest")
    else:
        conn = sqlite3.connect(sqlite_path(database.url))
        try:
            with conn:
                for sql in (_ORDERS, _INTEREST):
                    conn.execute(sql, params)
            conn.execute("ANALYZE")
        finally:
            conn.close()
    return Bulk(count, opens_us + (count - 1) * step)
