"""The live dashboard's reads: what came in since its last tick, and the stores' test
drives done."""

from __future__ import annotations

from typing import Any

from launchday.analytics.report import US
from launchday.store.sql import ReadConnection

# The orders placed after `:after` (launch time, microseconds), by right-closed second
# after opening, with the answers of their buyers: the order's own, else (field by
# field) the customer's registration of interest, as the report counts them.
# `orders_by_launch_time (launch_id, placed_at_us)` bounds the read to the new orders;
# each row then costs one lookup in `interest` by its primary key. The same SQL runs on
# SQLite and PostgreSQL (`launchday.store.sql`). PostgreSQL plans it that way for a
# few hundred new orders; for the thousands a second of a launch's first minute it
# hashes the new orders and reads the registrations once instead, which it finds
# quicker than as many lookups (about 30 ms a tick for 6,000 orders against 300,000
# registrations, either way).
_BUYER = "coalesce(o.{column}, i.{column})"
NEW_ORDERS_SQL = f"""
    SELECT (o.placed_at_us - :opens + {US - 1}) / {US} AS bucket,
           count(*),
           count({_BUYER.format(column="first_car_with_brand")}),
           count(*) FILTER (WHERE {_BUYER.format(column="first_car_with_brand")} = 1),
           count({_BUYER.format(column="new_to_brand")}),
           count(*) FILTER (WHERE {_BUYER.format(column="new_to_brand")} = 1),
           count({_BUYER.format(column="phone")}),
           count(*) FILTER (WHERE {_BUYER.format(column="phone")} = 'ios'),
           count(i.customer)
    FROM orders o
    LEFT JOIN interest i ON i.launch_id = o.launch_id AND i.customer = o.customer
    WHERE o.launch_id = :launch AND o.placed_at_us > :after
    GROUP BY bucket
"""

# The orders placed after `:after`, by the same second bucket, by channel and by the store
# that placed them: the stores view adds them up tick by tick (launchday.web.stores_live).
# Bounded by `orders_by_launch_time` to the new orders, as above.
NEW_ORIGINS_SQL = f"""
    SELECT (placed_at_us - :opens + {US - 1}) / {US} AS bucket, channel, store_id, count(*)
    FROM orders
    WHERE launch_id = :launch AND placed_at_us > :after
    GROUP BY bucket, channel, store_id
"""


class LiveQueries:
    """The dashboard's reads, on one connection."""

    def __init__(self, db: ReadConnection) -> None:
        self._db = db

    def new_orders(self, launch_id: int, opens_us: int, after_us: int) -> list[tuple[Any, ...]]:
        """The orders placed after `after_us`, by second bucket after opening, with the
        counts of their buyers' answers (`NEW_ORDERS_SQL`'s columns)."""
        return self._db.all(
            NEW_ORDERS_SQL, {"opens": opens_us, "launch": launch_id, "after": after_us}
        )

    def new_order_origins(
        self, launch_id: int, opens_us: int, after_us: int
    ) -> list[tuple[int, str, str | None, int]]:
        """The orders placed after `after_us`, by second bucket, channel and placing
        store (`NEW_ORIGINS_SQL`)."""
        rows = self._db.all(
            NEW_ORIGINS_SQL, {"opens": opens_us, "launch": launch_id, "after": after_us}
        )
        return [(int(b), str(c), None if s is None else str(s), int(n)) for b, c, s, n in rows]

    def test_drives_done_by_store(self, launch_id: int) -> dict[str, int]:
        """Each store's test drives of the launch marked done (the launch's bookings are
        few beside its orders: they are counted whole)."""
        rows = self._db.all(
            "SELECT store_id, count(*) FROM bookings WHERE launch_id = :launch"
            " AND kind = 'test_drive' AND status = 'done' GROUP BY store_id",
            {"launch": launch_id},
        )
        return {str(store): int(n) for store, n in rows}
