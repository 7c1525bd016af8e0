"""Schema migrations: named steps, applied in order, recorded in `schema_migrations`.

Every table carries its launch, so that a later store can place a launch (and its
customers) on a shard of its own.
"""

from __future__ import annotations

import sqlite3
from typing import Any

# The indexes that make locks and cancellations at the milestones index-only counts.
# Both are small to keep: the first has one integer entry per live order, and the
# second only an entry per cancelled order (none is written when an order is placed).
# Their expressions and WHERE clauses must stay exactly as the queries below write
# them (launchday.analytics.queries), or the databases will not use them.
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

# A lapsed ticket's returns to its waiting room (launchday.domain.rejoin), one row each;
# the same on both databases. The unique number makes a second record of one return
# impossible, whatever the locks.
REJOINS_TABLE = """
CREATE TABLE queue_rejoins (
    launch_id BIGINT NOT NULL REFERENCES launches(id),
    position BIGINT NOT NULL,
    ticket TEXT NOT NULL,
    customer TEXT NOT NULL,
    number INTEGER NOT NULL,
    at_us BIGINT NOT NULL,
    kept_place SMALLINT NOT NULL,
    PRIMARY KEY (launch_id, position),
    UNIQUE (launch_id, ticket, number)
)
"""

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
    (
        "0004_rejoins",
        """
        -- Tickets and rejoins share one order per room, as on PostgreSQL: `joined`
        -- counts the positions given out. Existing tickets keep their commit order.
        ALTER TABLE waiting_rooms ADD COLUMN joined INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE queue_tickets ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
        UPDATE queue_tickets SET position = seq;
        UPDATE waiting_rooms SET joined = coalesce(
            (SELECT max(q.position) FROM queue_tickets q
             WHERE q.launch_id = waiting_rooms.launch_id), 0);
        CREATE UNIQUE INDEX queue_tickets_by_position ON queue_tickets (launch_id, position);
        """
        + REJOINS_TABLE,
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


# PostgreSQL: the same tables and columns as SQLite (times as integer microseconds,
# flags as 0/1), so the report's set-based queries read both alike. Every table
# carries its launch, and every key on the hot path starts with it, so that a launch
# and its customers can live on a shard of their own; the order sequence and the
# order id are the only things unique across launches.
POSTGRES_MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_core",
        """
        CREATE TABLE launches (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            slug TEXT NOT NULL UNIQUE,
            spec BYTEA NOT NULL,
            created_at_us BIGINT NOT NULL
        );
        CREATE TABLE variants (
            launch_id BIGINT NOT NULL REFERENCES launches(id),
            sku TEXT NOT NULL,
            stock BIGINT,
            placed BIGINT NOT NULL DEFAULT 0,
            cancelled BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (launch_id, sku)
        );
        -- seq comes from this sequence while the launch's order book is locked, so it
        -- increases with the time each order was accepted.
        CREATE SEQUENCE orders_seq;
        CREATE TABLE orders (
            seq BIGINT PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            launch_id BIGINT NOT NULL REFERENCES launches(id),
            sku TEXT NOT NULL,
            customer TEXT NOT NULL,
            idempotency_key TEXT NOT NULL,
            request_hash BYTEA NOT NULL,
            status TEXT NOT NULL,
            deposit_amount BIGINT NOT NULL,
            placed_at_us BIGINT NOT NULL,
            refundable_until_us BIGINT NOT NULL,
            locked_at_us BIGINT,
            cancelled_at_us BIGINT,
            refund_amount BIGINT,
            first_car_with_brand SMALLINT,
            new_to_brand SMALLINT,
            phone TEXT,
            region TEXT,
            UNIQUE (launch_id, customer, idempotency_key)
        );
        CREATE INDEX orders_by_launch_time ON orders (launch_id, placed_at_us);
        CREATE TABLE order_events (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            launch_id BIGINT NOT NULL,
            order_seq BIGINT NOT NULL REFERENCES orders(seq),
            at_us BIGINT NOT NULL,
            status TEXT NOT NULL,
            actor TEXT NOT NULL,
            detail TEXT
        );
        CREATE INDEX order_events_by_order ON order_events (order_seq);
        CREATE TABLE interest (
            launch_id BIGINT NOT NULL REFERENCES launches(id),
            customer TEXT NOT NULL,
            registered_at_us BIGINT NOT NULL,
            first_car_with_brand SMALLINT,
            new_to_brand SMALLINT,
            phone TEXT,
            region TEXT,
            PRIMARY KEY (launch_id, customer)
        );
        -- The HMAC key of customer and admission tokens when LAUNCHDAY_SECRET is unset:
        -- kept with the data, as SQLite keeps it beside its file.
        CREATE TABLE instance_secret (
            id SMALLINT PRIMARY KEY CHECK (id = 1),
            secret BYTEA NOT NULL
        )
        """,
    ),
    ("0002_report_indexes", ";\n".join(REPORT_INDEXES.values())),
    (
        "0003_waiting_room",
        """
        -- joined and changes count the room's tickets and rate changes: both move only
        -- under the room's lock, so positions and change numbers commit in order.
        CREATE TABLE waiting_rooms (
            launch_id BIGINT PRIMARY KEY REFERENCES launches(id),
            seed BYTEA NOT NULL,
            joined BIGINT NOT NULL DEFAULT 0,
            changes BIGINT NOT NULL DEFAULT 0
        );
        CREATE TABLE queue_tickets (
            launch_id BIGINT NOT NULL REFERENCES launches(id),
            position BIGINT NOT NULL,
            customer TEXT NOT NULL,
            ticket TEXT NOT NULL UNIQUE,
            joined_at_us BIGINT NOT NULL,
            PRIMARY KEY (launch_id, position),
            UNIQUE (launch_id, customer)
        );
        CREATE TABLE admission_changes (
            launch_id BIGINT NOT NULL REFERENCES launches(id),
            seq BIGINT NOT NULL,
            at_us BIGINT NOT NULL,
            rate_per_second DOUBLE PRECISION NOT NULL,
            paused SMALLINT NOT NULL,
            PRIMARY KEY (launch_id, seq)
        )
        """,
    ),
    ("0004_rejoins", REJOINS_TABLE),
]

# Held while migrating, so that server processes starting together migrate once.
MIGRATION_LOCK = 0x6C61756E636864  # "launchd"


def migrate_postgres(conn: Any) -> list[str]:
    """Apply the migrations not yet recorded (on a psycopg connection in autocommit)."""
    applied = []
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
        for name, sql in POSTGRES_MIGRATIONS:
            if name in done:
                continue
            with conn.transaction():
                for statement in sql.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
            applied.append(name)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    return applied


def migrate_database(url: str) -> list[str]:
    """Bring the database at `url` to the current schema; return the migrations applied."""
    from launchday.store.postgres import connect, is_postgres_url

    if is_postgres_url(url):
        conn = connect(url)
        try:
            return migrate_postgres(conn)
        finally:
            conn.close()
    from pathlib import Path

    from launchday.store.sqlite import connect as connect_sqlite
    from launchday.store.sqlite import sqlite_path

    path = sqlite_path(url)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sqlite_conn = connect_sqlite(path)
    try:
        return migrate_sqlite(sqlite_conn)
    finally:
        sqlite_conn.close()
