"""The rows a batch writes at its end, many at once: orders, their events, tickets."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BulkInsert:
    """An INSERT of many rows: the table, its columns, and their PostgreSQL types (for
    the arrays PostgreSQL unnests)."""

    table: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    # A unique column: a row whose key is there already replaces the stored one.
    replace_on: str | None = None

    @property
    def on_conflict(self) -> str:
        """The clause that makes the insert an upsert (SQLite and PostgreSQL alike)."""
        if self.replace_on is None:
            return ""
        updates = ", ".join(f"{c} = excluded.{c}" for c in self.columns if c != self.replace_on)
        return f" ON CONFLICT ({self.replace_on}) DO UPDATE SET {updates}"


ORDERS = BulkInsert(
    "orders",
    (
        "seq",
        "id",
        "launch_id",
        "sku",
        "customer",
        "idempotency_key",
        "request_hash",
        "status",
        "deposit_amount",
        "placed_at_us",
        "refundable_until_us",
        "locked_at_us",
        "cancelled_at_us",
        "refund_amount",
        "first_car_with_brand",
        "new_to_brand",
        "phone",
        "region",
        "channel",
        "store_id",
        "staff",
        "delivery_centre",
    ),
    (
        "bigint",
        "text",
        "bigint",
        "text",
        "text",
        "text",
        "bytea",
        "text",
        "bigint",
        "bigint",
        "bigint",
        "bigint",
        "bigint",
        "bigint",
        "smallint",
        "smallint",
        "text",
        "text",
        "text",
        "text",
        "text",
        "text",
    ),
)
# Where in a row of ORDERS its status and the columns a change of status sets are.
STATUS, LOCKED_AT, CANCELLED_AT, REFUND, DELIVERY_CENTRE = 7, 11, 12, 13, 21
EVENTS = BulkInsert(
    "order_events",
    ("launch_id", "order_seq", "at_us", "status", "actor", "detail"),
    ("bigint", "bigint", "bigint", "text", "text", "text"),
)
TICKETS = BulkInsert(
    "queue_tickets",
    ("launch_id", "position", "customer", "ticket", "joined_at_us"),
    ("bigint", "bigint", "text", "text", "bigint"),
)

PROMISES = BulkInsert(
    "delivery_promises",
    (
        "order_seq",
        "launch_id",
        "build_week",
        "weeks_from",
        "weeks_to",
        "set_by_kind",
        "set_by_id",
        "set_by_supplier",
    ),
    ("bigint", "bigint", "integer", "integer", "integer", "text", "text", "text"),
    replace_on="order_seq",
)
PROMISE_MOVES = BulkInsert(
    "delivery_changes",
    (
        "launch_id",
        "order_seq",
        "at_us",
        "cause",
        "old_weeks_from",
        "old_weeks_to",
        "new_weeks_from",
        "new_weeks_to",
    ),
    ("bigint", "bigint", "bigint", "text", "integer", "integer", "integer", "integer"),
)

# A new order's payment, written after its order (its row refers to the order's).
PAYMENT_ROWS = BulkInsert(
    "payments",
    (
        "order_seq",
        "launch_id",
        "provider",
        "status",
        "amount_minor",
        "currency",
        "hold_until_us",
        "intent_id",
        "client_secret",
        "paid_at_us",
        "updated_at_us",
    ),
    ("bigint", "bigint", "text", "text", "bigint", "text", "bigint", "text", "text", "bigint",
     "bigint"),
)  # fmt: skip
