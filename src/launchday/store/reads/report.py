"""The report's queries, on SQLite and PostgreSQL alike (launchday.analytics.build runs them).

Every query is set-based: the database counts, Python only names the numbers. The SQL
is the same on both databases (`launchday.store.sql` holds what differs: the
placeholders and how the snapshot is taken). Each takes the launch time `t` (integer
microseconds, the storage form) the figures are for and reads the status each order
had then (the rules are in `launchday.analytics.report`):

    placed by t      placed_at_us <= t
    cancelled by t   cancelled_at_us <= t
    locked by t      status != 'cancelled' AND coalesce(locked_at_us, refundable_until_us) <= t

An order can be cancelled only while reserved, so a cancelled order never had a lock
time: the stored status alone keeps it out of the locked counts at every `t`, and a
reservation whose window has passed counts as locked without anything written.

Where the time is, the counts are read from indexes:

- orders placed by a time: `orders_by_launch_time (launch_id, placed_at_us)`;
- orders locked and cancelled by a time: the two partial indexes of migration
  `0002_report_indexes` (`launchday.store.schema.REPORT_INDEXES`).

Everything else (status by SKU, profiles) needs the order rows: one pass reads them.
SQLite reads them through `orders_by_launch_time`, in placement order, which is also
the table's order; PostgreSQL's planner picks between that index and a scan of the
table, and joins `interest` by hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from launchday.analytics.report import US, InterestTally, OrderTally, ProfileTally, cumulative
from launchday.store.sql import ReadConnection

_LOCK_TIME: Final = "coalesce(locked_at_us, refundable_until_us)"
_LIVE: Final = "status != 'cancelled' AND status != 'expired'"
# Below any stored time: the open lower bound of the first interval.
_BEFORE_ALL: Final = -(2**63)


# The three profile answers, as `count` (answered) and `FILTER` (yes) columns.
_PROFILE_COLUMNS: Final = """
    count({first_car}), count(*) FILTER (WHERE {first_car} = 1),
    count({new_to_brand}), count(*) FILTER (WHERE {new_to_brand} = 1),
    count({phone}), count(*) FILTER (WHERE {phone} = 'ios')
"""


def _profile(row: Sequence[Any], registered: int = 0) -> ProfileTally:
    """A profile tally from `count(*)` followed by the `_PROFILE_COLUMNS`."""
    return ProfileTally(
        count=row[0],
        first_car_answered=row[1],
        first_car_yes=row[2],
        new_to_brand_answered=row[3],
        new_to_brand_yes=row[4],
        phone_answered=row[5],
        ios=row[6],
        registered=registered,
    )


class ReportQueries:
    """The report's reads, all on one connection inside one snapshot."""

    def __init__(self, db: ReadConnection) -> None:
        self._db = db

    def order_pass(
        self, launch_id: int, skus: Sequence[str], t: int
    ) -> tuple[OrderTally, ProfileTally]:
        """Orders placed by `t`, in one pass: by status at `t` and by SKU, and their buyers.

        Locks are split by how they happened: at placement (a zero-hour window), early
        (by the buyer, inside the window) or when the window ended. A buyer's answer is
        the order's own, else (field by field, `coalesce`) that of the customer's
        registration of interest, if the customer had registered by `t`.

        The join is most of a report's time (about 0.9 s of 1.6 s for a million orders,
        on either database). SQLite looks each customer up in `interest` by its primary
        key: orders come in placement order and customers in no order, so each lookup lands
        somewhere new. Reading the orders in customer order would need an index on
        (launch_id, customer, placed_at_us, profile...) that costs the writer about a third
        more per order, a bad trade on launch night. PostgreSQL hashes the launch's
        registrations and probes the hash with each order (in parallel workers when it has
        them); the join names the launch as a constant rather than `o.launch_id`, so that
        the hash is keyed on the customer alone, which is about a fifth quicker.
        """
        by_sku = "".join(f", count(*) FILTER (WHERE o.sku = :sku{n})" for n in range(len(skus)))
        buyers = _PROFILE_COLUMNS.format(
            first_car="coalesce(o.first_car_with_brand, i.first_car_with_brand)",
            new_to_brand="coalesce(o.new_to_brand, i.new_to_brand)",
            phone="coalesce(o.phone, i.phone)",
        )
        row = self._db.first(
            f"""
            SELECT
                count(*), {buyers}, count(i.customer),
                count(*) FILTER (WHERE o.cancelled_at_us <= :t),
                coalesce(sum(o.refund_amount) FILTER (WHERE o.cancelled_at_us <= :t), 0),
                count(*) FILTER (WHERE o.status NOT IN ('cancelled', 'expired')
                                 AND o.locked_at_us = o.placed_at_us),
                count(*) FILTER (WHERE o.status NOT IN ('cancelled', 'expired')
                                 AND o.locked_at_us > o.placed_at_us AND o.locked_at_us <= :t),
                count(*) FILTER (WHERE o.status NOT IN ('cancelled', 'expired')
                                 AND o.locked_at_us IS NULL AND o.refundable_until_us <= :t),
                coalesce(sum(o.deposit_amount) FILTER (
                    WHERE o.status NOT IN ('cancelled', 'expired')
                    AND coalesce(o.locked_at_us, o.refundable_until_us) <= :t), 0)
                {by_sku}
            FROM orders o
            LEFT JOIN interest i
                ON i.launch_id = :launch AND i.customer = o.customer AND i.registered_at_us <= :t
            WHERE o.launch_id = :launch AND o.placed_at_us <= :t
            """,
            {"launch": launch_id, "t": t, **{f"sku{n}": sku for n, sku in enumerate(skus)}},
        )
        tally = OrderTally(
            total=row[0],
            cancelled=row[8],
            refunded_amount=int(row[9]),  # PostgreSQL's sum of BIGINTs is a NUMERIC
            locked_at_placement=row[10],
            locked_early=row[11],
            locked_window_ended=row[12],
            locked_deposits=int(row[13]),
            by_sku=dict(zip(skus, row[14:], strict=True)),
        )
        return tally, _profile(row, registered=row[7])

    def _counts_by(
        self, launch_id: int, times: Sequence[int], column: str, where: str = ""
    ) -> list[int]:
        """Orders whose `column` is at or before each of `times` (ascending).

        One range count per interval between consecutive times, summed: with an index on
        (launch_id, column) the entries are read once in all, however many times there are.
        """
        if not times:
            return []
        bounds = list(zip([_BEFORE_ALL, *times[:-1]], times, strict=True))
        values = ", ".join(f"({n}, :lo{n}, :hi{n})" for n in range(len(bounds)))
        params: dict[str, int] = {"launch": launch_id}
        for n, (lo, hi) in enumerate(bounds):
            params[f"lo{n}"], params[f"hi{n}"] = lo, hi
        rows = self._db.all(
            f"""
            WITH bounds(n, lo, hi) AS (VALUES {values})
            SELECT (SELECT count(*) FROM orders
                    WHERE launch_id = :launch {where} AND {column} > lo AND {column} <= hi)
            FROM bounds ORDER BY n
            """,
            params,
        )
        return cumulative(row[0] for row in rows)

    def orders_by(self, launch_id: int, times: Sequence[int]) -> list[int]:
        """Orders placed at or before each of `times` (ascending), cancelled ones included."""
        return self._counts_by(launch_id, times, "placed_at_us")

    def locked_and_cancelled_by(
        self, launch_id: int, times: Sequence[int]
    ) -> list[tuple[int, int]]:
        """(locked, cancelled) at each of `times` (ascending): range counts on the two partial
        indexes of migration 0002 (`orders_by_launch_lock`, `orders_by_launch_cancel`)."""
        locked = self._counts_by(launch_id, times, _LOCK_TIME, f"AND {_LIVE}")
        cancelled = self._counts_by(launch_id, times, "cancelled_at_us")
        return list(zip(locked, cancelled, strict=True))

    def series_buckets(
        self,
        launch_id: int,
        opens_us: int,
        step_seconds: int,
        after: int,
        until: int,
    ) -> dict[int, int]:
        """Orders placed in (after, until], by right-closed step after opening.

        Bucket k holds the orders placed in (k - 1, k] steps after opening, and bucket 0
        those placed at the opening instant. Read from `orders_by_launch_time` alone.
        """
        if until <= after:
            return {}
        step = step_seconds * US
        rows = self._db.all(
            """
            SELECT (placed_at_us - :opens + :step - 1) / :step AS k, count(*)
            FROM orders
            WHERE launch_id = :launch AND placed_at_us > :after AND placed_at_us <= :until
            GROUP BY k
            """,
            {"opens": opens_us, "step": step, "launch": launch_id, "after": after, "until": until},
        )
        return {int(k): int(n) for k, n in rows}

    def interest_tally(self, launch_id: int, t: int, window_end: int | None) -> InterestTally:
        """Registrations made by `t` and their answers; how many by `window_end` (None: `t`)."""
        columns = _PROFILE_COLUMNS.format(
            first_car="first_car_with_brand", new_to_brand="new_to_brand", phone="phone"
        )
        row = self._db.first(
            f"""
            SELECT count(*), {columns}, count(*) FILTER (WHERE registered_at_us <= :window)
            FROM interest
            WHERE launch_id = :launch AND registered_at_us <= :t
            """,
            {"launch": launch_id, "t": t, "window": t if window_end is None else window_end},
        )
        return InterestTally(_profile(row), in_window=row[7])

    def registrations_by(self, launch_id: int, t: int) -> int:
        """Registrations of interest made at or before `t`."""
        row = self._db.first(
            "SELECT count(*) FROM interest WHERE launch_id = :launch AND registered_at_us <= :t",
            {"launch": launch_id, "t": t},
        )
        return int(row[0])

    def orders_of_queued_customers(self, launch_id: int, t: int) -> list[tuple[str, int]]:
        """(customer, placed at) of the orders placed by `t` by customers who hold a
        waiting-room ticket, in placement order."""
        rows = self._db.all(
            "SELECT o.customer, o.placed_at_us FROM orders o"
            " JOIN queue_tickets q ON q.launch_id = o.launch_id AND q.customer = o.customer"
            " WHERE o.launch_id = :launch AND o.placed_at_us <= :t ORDER BY o.placed_at_us",
            {"launch": launch_id, "t": t},
        )
        return [(str(customer), int(placed)) for customer, placed in rows]
