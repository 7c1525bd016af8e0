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
    ),
)
# Where in a row of ORDERS its status and the columns a change of status sets are.
STATUS, LOCKED_AT, CANCELLED_AT, REFUND = 7, 11, 12, 13
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
