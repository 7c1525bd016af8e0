"""The report's reads of the stores: where orders came from, the stores' bookings, test
drives per slot, and test drives against orders (launchday.analytics.store_figures names
the numbers). Set-based and the same SQL on SQLite and PostgreSQL, as the report's other
queries (launchday.store.reads.report).

Bookings are stamped in real time and orders in launch time: the conversion compares the
stored microseconds as they are, which is right when the launch's clock is real time
(`time_scale` 1, every real launch). In a rehearsal at another speed the two clocks part
from the opening on, and the conversion figures mean little.
"""

from __future__ import annotations

from typing import Final

from launchday.analytics.report import US
from launchday.analytics.store_figures import (
    ConversionTally,
    OriginTally,
    SlotTally,
    StoreBookings,
)
from launchday.store.sql import ReadConnection

# A test drive or handover that took, takes or missed its place: not one only held, nor
# one that lapsed unconfirmed (still stored as held) or was cancelled.
_BOOKED: Final = "status IN ('confirmed', 'done', 'no_show')"
_DRIVE: Final = "kind = 'test_drive'"

# One pass over the launch's orders counts them by every combination of where from and
# where to (a few hundred groups), kept once (a CTE named more than once is materialized
# on both databases); each marginal is then summed over those groups, not over orders.
_ORIGINS: Final = """
    WITH g AS (
        SELECT channel, store_id, delivery_centre, upper(region) AS region, count(*) AS n
        FROM orders
        WHERE launch_id = :launch AND placed_at_us <= :t
        GROUP BY channel, store_id, delivery_centre, upper(region)
    )
    SELECT 'channel', channel, sum(n) FROM g GROUP BY channel
    UNION ALL
    SELECT 'store', store_id, sum(n) FROM g WHERE store_id IS NOT NULL GROUP BY store_id
    UNION ALL
    SELECT 'centre', delivery_centre, sum(n) FROM g
    WHERE delivery_centre IS NOT NULL GROUP BY delivery_centre
    UNION ALL
    SELECT 'region', region, sum(n) FROM g GROUP BY region
"""


class RetailReportQueries:
    """The report's reads of stores and bookings, on one connection inside one snapshot."""

    def __init__(self, db: ReadConnection) -> None:
        self._db = db

    def order_origins(self, launch_id: int, t: int) -> OriginTally:
        """Orders placed by `t`, by channel, placing store, delivery centre and region."""
        counts: dict[str, dict[str | None, int]] = {
            "channel": {}, "store": {}, "centre": {}, "region": {},
        }  # fmt: skip
        for dimension, key, n in self._db.all(_ORIGINS, {"launch": launch_id, "t": t}):
            counts[str(dimension)][key] = int(n)  # PostgreSQL's sum of BIGINTs is a NUMERIC
        return OriginTally(
            by_channel={str(k): n for k, n in counts["channel"].items()},
            by_store={str(k): n for k, n in counts["store"].items()},
            by_centre={str(k): n for k, n in counts["centre"].items()},
            by_region=counts["region"],
        )

    def bookings_by_store(self, launch_id: int) -> list[StoreBookings]:
        """Each store's bookings of the launch booked, and its test drives by outcome."""
        rows = self._db.all(
            f"""
            SELECT store_id,
                   count(*) FILTER (WHERE {_BOOKED}),
                   count(*) FILTER (WHERE {_DRIVE} AND {_BOOKED}),
                   count(*) FILTER (WHERE {_DRIVE} AND status = 'done'),
                   count(*) FILTER (WHERE {_DRIVE} AND status = 'no_show')
            FROM bookings WHERE launch_id = :launch GROUP BY store_id
            """,
            {"launch": launch_id},
        )
        return [StoreBookings(str(r[0]), *(int(v) for v in r[1:])) for r in rows]

    def test_drive_slots(self, launch_id: int) -> list[SlotTally]:
        """Test drives booked and done per store and slot start (the stores' local dates
        are worked out from these, in each store's own time zone)."""
        rows = self._db.all(
            f"""
            SELECT store_id, start_us, count(*), count(*) FILTER (WHERE status = 'done')
            FROM bookings
            WHERE launch_id = :launch AND {_DRIVE} AND {_BOOKED}
            GROUP BY store_id, start_us
            """,
            {"launch": launch_id},
        )
        return [SlotTally(str(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows]

    def test_drive_conversion(self, launch_id: int, t: int, window_days: int) -> ConversionTally:
        """Buyers with a test drive done (started by `t`) and how many of them placed an
        order within `window_days` after its start; and the orders placed and not
        cancelled by `t` whose buyer had a test drive done before placing it.

        Both start from the launch's done test drives (few) and look the buyer's orders
        up by (launch_id, customer), the prefix of the orders' idempotency key."""
        window = window_days * 86_400 * US
        drivers = self._db.first(
            f"""
            SELECT count(DISTINCT b.customer),
                   count(DISTINCT b.customer) FILTER (WHERE EXISTS (
                       SELECT 1 FROM orders o
                       WHERE o.launch_id = :launch AND o.customer = b.customer
                         AND o.placed_at_us >= b.start_us
                         AND o.placed_at_us <= b.start_us + :window
                         AND o.placed_at_us <= :t))
            FROM bookings b
            WHERE b.launch_id = :launch AND b.{_DRIVE} AND b.status = 'done'
              AND b.start_us <= :t
            """,
            {"launch": launch_id, "t": t, "window": window},
        )
        after = self._db.first(
            f"""
            SELECT count(*)
            FROM (SELECT customer, min(start_us) AS first_done FROM bookings
                  WHERE launch_id = :launch AND {_DRIVE} AND status = 'done'
                  GROUP BY customer) d
            JOIN orders o ON o.launch_id = :launch AND o.customer = d.customer
            WHERE o.placed_at_us <= :t
              AND (o.cancelled_at_us IS NULL OR o.cancelled_at_us > :t)
              AND d.first_done < o.placed_at_us
            """,
            {"launch": launch_id, "t": t},
        )
        return ConversionTally(int(drivers[0]), int(drivers[1]), int(after[0]))
