"""The schema, written once: named migration steps rendered for SQLite or PostgreSQL.

Both databases hold the same tables and columns: times as integer microseconds, flags
as 0/1, every table carrying its launch (so that a later store can place a launch and
its customers on a shard of its own). A step is SQL with a few placeholders for what
the two dialects spell differently:

    {int}     a 64-bit integer          INTEGER / BIGINT
    {flag}    a yes/no/unknown answer   INTEGER / SMALLINT
    {bytes}   binary                    BLOB / BYTEA
    {real}    a floating-point number   REAL / DOUBLE PRECISION
    {id}      a key the database draws  INTEGER PRIMARY KEY / BIGINT GENERATED ... IDENTITY
    {compact} a table keyed by its primary key alone: SQLite stores it WITHOUT ROWID

and statements that only one dialect runs (`Step.sqlite_only`, `Step.postgres_only`):
what the first steps did differently, before one description served both. Those are
history: a database migrated then holds exactly what they made, so they are kept as
they were. New steps are written for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Dialect(StrEnum):
    SQLITE = "sqlite"
    POSTGRES = "postgres"


_TYPES: dict[Dialect, dict[str, str]] = {
    Dialect.SQLITE: {
        "int": "INTEGER",
        "flag": "INTEGER",
        "bytes": "BLOB",
        "real": "REAL",
        "id": "INTEGER PRIMARY KEY",
        "compact": " WITHOUT ROWID",
    },
    Dialect.POSTGRES: {
        "int": "BIGINT",
        "flag": "SMALLINT",
        "bytes": "BYTEA",
        "real": "DOUBLE PRECISION",
        "id": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "compact": "",
    },
}


@dataclass(frozen=True, slots=True)
class Step:
    """One migration: statements for both dialects, then any of one dialect only."""

    name: str
    both: tuple[str, ...] = ()
    sqlite_only: tuple[str, ...] = ()
    postgres_only: tuple[str, ...] = ()

    def statements(self, dialect: Dialect) -> list[str]:
        """The step's SQL for `dialect`, one statement each."""
        own = self.sqlite_only if dialect is Dialect.SQLITE else self.postgres_only
        return [render(sql, dialect) for sql in (*self.both, *own)]


def render(sql: str, dialect: Dialect) -> str:
    """`sql` with its type placeholders spelled for `dialect`."""
    return sql.format(**_TYPES[dialect])


# The indexes that make locks and cancellations at the milestones index-only counts.
# Both are small to keep: the first has one integer entry per live order, and the
# second only an entry per cancelled order (none is written when an order is placed).
# Their expressions and WHERE clauses must stay exactly as the report's queries write
# them (launchday.store.report_reads), or the databases will not use them.
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

_CORE = (
    """CREATE TABLE launches (
        id {id},
        slug TEXT NOT NULL UNIQUE,
        spec {bytes} NOT NULL,
        created_at_us {int} NOT NULL
    )""",
    """CREATE TABLE variants (
        launch_id {int} NOT NULL REFERENCES launches(id),
        sku TEXT NOT NULL,
        stock {int},
        placed {int} NOT NULL DEFAULT 0,
        cancelled {int} NOT NULL DEFAULT 0,
        PRIMARY KEY (launch_id, sku)
    ){compact}""",
    # seq: the order's place in its launch's order book, increasing with acceptance
    # time (SQLite: the single writer's order; PostgreSQL: drawn from `orders_seq`
    # while the launch's order book is locked).
    """CREATE TABLE orders (
        seq {int} PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        launch_id {int} NOT NULL REFERENCES launches(id),
        sku TEXT NOT NULL,
        customer TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        request_hash {bytes} NOT NULL,
        status TEXT NOT NULL,
        deposit_amount {int} NOT NULL,
        placed_at_us {int} NOT NULL,
        refundable_until_us {int} NOT NULL,
        locked_at_us {int},
        cancelled_at_us {int},
        refund_amount {int},
        first_car_with_brand {flag},
        new_to_brand {flag},
        phone TEXT,
        region TEXT,
        UNIQUE (launch_id, customer, idempotency_key)
    )""",
    "CREATE INDEX orders_by_launch_time ON orders (launch_id, placed_at_us)",
    """CREATE TABLE interest (
        launch_id {int} NOT NULL REFERENCES launches(id),
        customer TEXT NOT NULL,
        registered_at_us {int} NOT NULL,
        first_car_with_brand {flag},
        new_to_brand {flag},
        phone TEXT,
        region TEXT,
        PRIMARY KEY (launch_id, customer)
    ){compact}""",
)

# A lapsed ticket's returns to its waiting room (launchday.domain.rejoin), one row each.
# The unique number makes a second record of one return impossible, whatever the locks.
_REJOINS = """CREATE TABLE queue_rejoins (
    launch_id BIGINT NOT NULL REFERENCES launches(id),
    position BIGINT NOT NULL,
    ticket TEXT NOT NULL,
    customer TEXT NOT NULL,
    number INTEGER NOT NULL,
    at_us BIGINT NOT NULL,
    kept_place SMALLINT NOT NULL,
    PRIMARY KEY (launch_id, position),
    UNIQUE (launch_id, ticket, number)
)"""

# Production and the delivery promise (launchday.domain.build_schedule): each launch's
# plan, the promise each queued order holds now (what a re-promise compares against), and
# every move of a promise by a week or more, for the brand to tell its buyers.
_DELIVERY = (
    """CREATE TABLE production_plans (
        launch_id {int} PRIMARY KEY REFERENCES launches(id),
        plan {bytes} NOT NULL,
        version {int} NOT NULL,
        updated_at_us {int} NOT NULL
    )""",
    """CREATE TABLE delivery_promises (
        order_seq {int} PRIMARY KEY REFERENCES orders(seq),
        launch_id {int} NOT NULL REFERENCES launches(id),
        build_week {int},
        weeks_from {int},
        weeks_to {int},
        set_by_kind TEXT NOT NULL,
        set_by_id TEXT NOT NULL,
        set_by_supplier TEXT
    ){compact}""",
    "CREATE INDEX delivery_promises_by_launch ON delivery_promises (launch_id)",
    """CREATE TABLE delivery_changes (
        id {id},
        launch_id {int} NOT NULL REFERENCES launches(id),
        order_seq {int} NOT NULL REFERENCES orders(seq),
        at_us {int} NOT NULL,
        cause TEXT NOT NULL,
        old_weeks_from {int},
        old_weeks_to {int},
        new_weeks_from {int},
        new_weeks_to {int}
    )""",
    "CREATE INDEX delivery_changes_by_launch ON delivery_changes (launch_id, at_us)",
    "CREATE INDEX delivery_changes_by_order ON delivery_changes (order_seq)",
)

# Deposits paid through a payment provider (launchday.domain.payment, .ledger): each
# order's payment and the hold on its unit, the provider's events taken (each once:
# the key refuses a second), the ledger's transfers (one of each kind per order: never
# two refunds for one deposit) and the refunds owed, with their attempts.
_PAYMENTS = (
    """CREATE TABLE payments (
        order_seq {int} PRIMARY KEY REFERENCES orders(seq),
        launch_id {int} NOT NULL REFERENCES launches(id),
        provider TEXT NOT NULL,
        status TEXT NOT NULL,
        amount_minor {int} NOT NULL,
        currency TEXT NOT NULL,
        hold_until_us {int} NOT NULL,
        intent_id TEXT UNIQUE,
        client_secret TEXT,
        paid_at_us {int},
        updated_at_us {int} NOT NULL
    )""",
    "CREATE INDEX payments_by_hold ON payments (launch_id, status, hold_until_us)",
    """CREATE TABLE payment_events (
        provider TEXT NOT NULL,
        event_id TEXT NOT NULL,
        type TEXT NOT NULL,
        received_at_us {int} NOT NULL,
        PRIMARY KEY (provider, event_id)
    ){compact}""",
    """CREATE TABLE ledger_transfers (
        id {id},
        launch_id {int} NOT NULL REFERENCES launches(id),
        order_seq {int} NOT NULL REFERENCES orders(seq),
        kind TEXT NOT NULL,
        amount_minor {int} NOT NULL,
        at_us {int} NOT NULL,
        UNIQUE (order_seq, kind)
    )""",
    "CREATE INDEX ledger_transfers_by_launch ON ledger_transfers (launch_id, at_us)",
    """CREATE TABLE refunds (
        order_seq {int} PRIMARY KEY REFERENCES orders(seq),
        launch_id {int} NOT NULL REFERENCES launches(id),
        status TEXT NOT NULL,
        amount_minor {int} NOT NULL,
        provider_refund_id TEXT,
        attempts {int} NOT NULL DEFAULT 0,
        next_attempt_at_us {int} NOT NULL,
        last_error TEXT,
        updated_at_us {int} NOT NULL
    )""",
    "CREATE INDEX refunds_by_status ON refunds (status, next_attempt_at_us)",
    "ALTER TABLE variants ADD COLUMN expired {int} NOT NULL DEFAULT 0",
    "ALTER TABLE variants ADD COLUMN paid {int} NOT NULL DEFAULT 0",
)

# The people who run a launch (launchday.domain.access): their API keys (only a hash of
# each), the audit of every change they make, and the token secret's rotations. None
# belongs to one launch: a key may act on all, and the audit spans them.
_ACCESS = (
    """CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        launch TEXT,
        store TEXT,
        secret_hash TEXT NOT NULL,
        created_at_us {int} NOT NULL,
        expires_at_us {int},
        revoked_at_us {int},
        last_used_at_us {int}
    )""",
    """CREATE TABLE audit_log (
        id {id},
        at_us {int} NOT NULL,
        key_name TEXT NOT NULL,
        role TEXT NOT NULL,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        status {int} NOT NULL,
        launch TEXT,
        change TEXT NOT NULL
    )""",
    "CREATE INDEX audit_log_by_time ON audit_log (at_us)",
    # The token secret's rotations (launchday.domain.token_secrets): generation 0 is the
    # instance's secret, kept where it was.
    """CREATE TABLE token_secrets (
        generation {int} PRIMARY KEY,
        secret {bytes} NOT NULL,
        rotated_at_us {int} NOT NULL,
        previous_until_us {int} NOT NULL
    )""",
)

_RETAIL = (
    # A store's whole description as JSON (launchday.store.retail_tx), with the columns
    # buyers filter on beside it.
    """CREATE TABLE retail_stores (
        id TEXT PRIMARY KEY,
        region TEXT NOT NULL,
        spec {bytes} NOT NULL,
        updated_at_us {int} NOT NULL
    )""",
    """CREATE TABLE bookings (
        seq {id},
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        launch_id {int} NOT NULL REFERENCES launches(id),
        store_id TEXT NOT NULL,
        sku TEXT NOT NULL,
        customer TEXT NOT NULL,
        start_us {int} NOT NULL,
        end_us {int} NOT NULL,
        status TEXT NOT NULL,
        held_until_us {int},
        created_at_us {int} NOT NULL,
        order_id TEXT,
        staff TEXT,
        channel TEXT NOT NULL
    )""",
    "CREATE INDEX bookings_by_slot ON bookings (store_id, start_us)",
    "CREATE INDEX bookings_by_customer ON bookings (launch_id, customer)",
)

# Where an order was placed (its channel; a store order's store and staff member) and
# where its buyer collects the car. Existing orders were placed online, in the app.
_ORDER_ORIGIN = (
    "ALTER TABLE orders ADD COLUMN channel TEXT NOT NULL DEFAULT 'app'",
    "ALTER TABLE orders ADD COLUMN store_id TEXT",
    "ALTER TABLE orders ADD COLUMN staff TEXT",
    "ALTER TABLE orders ADD COLUMN delivery_centre TEXT",
    "CREATE INDEX orders_by_store ON orders (store_id, launch_id) WHERE store_id IS NOT NULL",
)

STEPS: tuple[Step, ...] = (
    Step(
        "0001_core",
        both=_CORE,
        # The audit trail: SQLite orders an order's events by rowid; PostgreSQL by an id.
        sqlite_only=(
            """CREATE TABLE order_events (
                launch_id INTEGER NOT NULL,
                order_seq INTEGER NOT NULL REFERENCES orders(seq),
                at_us INTEGER NOT NULL,
                status TEXT NOT NULL,
                actor TEXT NOT NULL,
                detail TEXT
            )""",
            "CREATE INDEX order_events_by_order ON order_events (order_seq)",
        ),
        postgres_only=(
            "CREATE SEQUENCE orders_seq",
            """CREATE TABLE order_events (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                launch_id BIGINT NOT NULL,
                order_seq BIGINT NOT NULL REFERENCES orders(seq),
                at_us BIGINT NOT NULL,
                status TEXT NOT NULL,
                actor TEXT NOT NULL,
                detail TEXT
            )""",
            "CREATE INDEX order_events_by_order ON order_events (order_seq)",
            # The HMAC key of tokens when LAUNCHDAY_SECRET is unset: kept with the data,
            # as SQLite keeps it beside its file.
            """CREATE TABLE instance_secret (
                id SMALLINT PRIMARY KEY CHECK (id = 1),
                secret BYTEA NOT NULL
            )""",
        ),
    ),
    Step("0002_report_indexes", both=tuple(REPORT_INDEXES.values())),
    Step(
        "0003_waiting_room",
        # SQLite first kept tickets and rate changes in its writer's commit order (seq);
        # PostgreSQL numbers them under the room's lock (joined, changes). 0004 gave
        # SQLite positions too.
        sqlite_only=(
            """CREATE TABLE waiting_rooms (
                launch_id INTEGER PRIMARY KEY REFERENCES launches(id),
                seed BLOB NOT NULL
            )""",
            """CREATE TABLE queue_tickets (
                seq INTEGER PRIMARY KEY,
                launch_id INTEGER NOT NULL REFERENCES launches(id),
                customer TEXT NOT NULL,
                ticket TEXT NOT NULL UNIQUE,
                joined_at_us INTEGER NOT NULL,
                UNIQUE (launch_id, customer)
            )""",
            """CREATE TABLE admission_changes (
                seq INTEGER PRIMARY KEY,
                launch_id INTEGER NOT NULL REFERENCES launches(id),
                at_us INTEGER NOT NULL,
                rate_per_second REAL NOT NULL,
                paused INTEGER NOT NULL
            )""",
        ),
        postgres_only=(
            """CREATE TABLE waiting_rooms (
                launch_id BIGINT PRIMARY KEY REFERENCES launches(id),
                seed BYTEA NOT NULL,
                joined BIGINT NOT NULL DEFAULT 0,
                changes BIGINT NOT NULL DEFAULT 0
            )""",
            """CREATE TABLE queue_tickets (
                launch_id BIGINT NOT NULL REFERENCES launches(id),
                position BIGINT NOT NULL,
                customer TEXT NOT NULL,
                ticket TEXT NOT NULL UNIQUE,
                joined_at_us BIGINT NOT NULL,
                PRIMARY KEY (launch_id, position),
                UNIQUE (launch_id, customer)
            )""",
            """CREATE TABLE admission_changes (
                launch_id BIGINT NOT NULL REFERENCES launches(id),
                seq BIGINT NOT NULL,
                at_us BIGINT NOT NULL,
                rate_per_second DOUBLE PRECISION NOT NULL,
                paused SMALLINT NOT NULL,
                PRIMARY KEY (launch_id, seq)
            )""",
        ),
    ),
    Step(
        "0004_rejoins",
        both=(_REJOINS,),
        # Tickets and rejoins share one order per room, as on PostgreSQL: `joined` counts
        # the positions given out. Existing tickets keep their commit order.
        sqlite_only=(
            "ALTER TABLE waiting_rooms ADD COLUMN joined INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE queue_tickets ADD COLUMN position INTEGER NOT NULL DEFAULT 0",
            "UPDATE queue_tickets SET position = seq",
            """UPDATE waiting_rooms SET joined = coalesce(
                (SELECT max(q.position) FROM queue_tickets q
                 WHERE q.launch_id = waiting_rooms.launch_id), 0)""",
            "CREATE UNIQUE INDEX queue_tickets_by_position ON queue_tickets (launch_id, position)",
        ),
    ),
    Step(
        "0005_same_tables",
        # SQLite numbers a room's rate changes as PostgreSQL does, from 1 in each room
        # under the count `changes`, and keys the audit trail by an id as PostgreSQL
        # does (its rowid, kept): from here on the two hold the same tables.
        sqlite_only=(
            """CREATE TABLE order_events_keyed (
                id INTEGER PRIMARY KEY,
                launch_id INTEGER NOT NULL,
                order_seq INTEGER NOT NULL REFERENCES orders(seq),
                at_us INTEGER NOT NULL,
                status TEXT NOT NULL,
                actor TEXT NOT NULL,
                detail TEXT
            )""",
            """INSERT INTO order_events_keyed
                SELECT rowid, launch_id, order_seq, at_us, status, actor, detail
                FROM order_events""",
            "DROP TABLE order_events",
            "ALTER TABLE order_events_keyed RENAME TO order_events",
            "CREATE INDEX order_events_by_order ON order_events (order_seq)",
            "ALTER TABLE waiting_rooms ADD COLUMN changes INTEGER NOT NULL DEFAULT 0",
            """CREATE TABLE admission_changes_numbered (
                launch_id INTEGER NOT NULL REFERENCES launches(id),
                seq INTEGER NOT NULL,
                at_us INTEGER NOT NULL,
                rate_per_second REAL NOT NULL,
                paused INTEGER NOT NULL,
                PRIMARY KEY (launch_id, seq)
            ) WITHOUT ROWID""",
            """INSERT INTO admission_changes_numbered
                SELECT launch_id, row_number() OVER (PARTITION BY launch_id ORDER BY seq),
                       at_us, rate_per_second, paused
                FROM admission_changes""",
            "DROP TABLE admission_changes",
            "ALTER TABLE admission_changes_numbered RENAME TO admission_changes",
            """UPDATE waiting_rooms SET changes = (
                SELECT count(*) FROM admission_changes a
                WHERE a.launch_id = waiting_rooms.launch_id)""",
        ),
    ),
    Step("0006_delivery", both=_DELIVERY),
    Step("0007_payments", both=_PAYMENTS),
    Step("0008_access", both=_ACCESS),
    Step("0009_retail", both=_RETAIL),
    Step("0010_order_origin", both=_ORDER_ORIGIN),
)
