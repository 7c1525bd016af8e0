"""Schema migrations: named steps, applied in order, recorded in `schema_migrations`.

Every table carries its launch, so that a later store can place a launch (and its
customers) on a shard of its own.
"""

from __future__ import annotations

import sqlite3

# The indexes that make locks and cancellations at the milestones index-only counts.
# Both are small to keep: the first has one integer entry per live order, and the
# second only an entry per cancelled order (none is written when an order is placed).
# Their expressions and WHERE clauses must stay exactly as the queries below write
# them (launchday.analytics.sqlite_queries), or SQLite will not use them.
REPORT_INDEXES: dict[str, str] = {
    "orders_by_launch_lock": (
        "CREATE INDEX orders_by_launch_lock ON orders"
        " (launch_id, coalesce(locked_at_us, refundable_until_us))"
        " WHERE status != 'cancelled'"
    ),
    "orders_by_launch_cancel": (
        "CREATE INDEX orders_by_launch_cancel ON orders"
        " (launch_id, cancelled_at_us, refund_amount)"
        " WHERE cancelled_at_us IS NOT NULL"
    ),
}

SQLITE_MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_core",
        """
        CREATE TABLE launches (
            id INTEGER PRIMARY KEY,
            slug TEXT NOT NULL UNIQUE,
            spec BLOB NOT NULL,
            created_at_us INTEGER NOT NULL
        );
        CREATE TABLE variants (
            launch_id INTEGER NOT NULL REFERENCES launches(id),
            sku TEXT NOT NULL,
            stock INTEGER,
            placed INTEGER NOT NULL DEFAULT 0,
            cancelled INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (launch_id, sku)
        ) WITHOUT ROWID;
        -- seq is the rowid: unique, and increasing in the order the single writer accepts.
        CREATE TABLE orders (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            launch_id INTEGER NOT NULL REFERENCES launches(id),
            sku TEXT NOT NULL,
            customer TEXT NOT NULL,
            idempotency_key TEXT NOT NULL,
            request_hash BLOB NOT NULL,
            status TEXT NOT NULL,
            deposit_amount INTEGER NOT NULL,
            placed_at_us INTEGER NOT NULL,
            refundable_until_us INTEGER NOT NULL,
            locked_at_us INTEGER,
            cancelled_at_us INTEGER,
            refund_amount INTEGER,
            first_car_with_brand INTEGER,
            new_to_brand INTEGER,
            phone TEXT,
            region TEXT,
            UNIQUE (launch_id, customer, idempotency_key)
        );
        CREATE INDEX orders_by_launch_time ON orders (launch_id, placed_at_us);
        CREATE TABLE order_events (
            launch_id INTEGER NOT NULL,
            order_seq INTEGER NOT NULL REFERENCES orders(seq),
            at_us INTEGER NOT NULL,
            status TEXT NOT NULL,
            actor TEXT NOT NULL,
            detail TEXT
        );
        CREATE INDEX order_events_by_order ON order_events (order_seq);
        CREATE TABLE interest (
            launch_id INTEGER NOT NULL REFERENCES launches(id),
            customer TEXT NOT NULL,
            registered_at_us INTEGER NOT NULL,
            first_car_with_brand INTEGER,
            new_to_brand INTEGER,
            phone TEXT,
            region TEXT,
            PRIMARY KEY (launch_id, customer)
        ) WITHOUT ROWID;
        """,
    ),
    ("0002_report_indexes", ";\n".join(REPORT_INDEXES.values())),
    (
        "0003_waiting_room",
        """
        CREATE TABLE waiting_rooms (
            launch_id INTEGER PRIMARY KEY REFERENCES launches(id),
            seed BLOB NOT NULL
        );
        -- seq is the commit order, the order the admission ledger replays joins in.
        CREATE TABLE queue_tickets (
            seq INTEGER PRIMARY KEY,
            launch_id INTEGER NOT NULL REFERENCES launches(id),
            customer TEXT NOT NULL,
            ticket TEXT NOT NULL UNIQUE,
            joined_at_us INTEGER NOT NULL,
            UNIQUE (launch_id, customer)
        );
        CREATE TABLE admission_changes (
            seq INTEGER PRIMARY KEY,
            launch_id INTEGER NOT NULL REFERENCES launches(id),
            at_us INTEGER NOT NULL,
            rate_per_second REAL NOT NULL,
            paused INTEGER NOT NULL
        );
        """,
    ),
]


def migrate_sqlite(conn: sqlite3.Connection) -> list[str]:
    """Apply the migrations not yet recorded; return the names applied."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
    )
    done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
    applied = []
    for name, sql in SQLITE_MIGRATIONS:
        if name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in sql.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, datetime('now'))", (name,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied
