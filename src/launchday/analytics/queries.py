"""The report's queries, on SQLite and PostgreSQL alike, and `build_report`, the one
entry point.

Every query is set-based: the database counts, Python only names the numbers. The SQL
is the same on both databases (`launchday.store.sql` holds what differs: the
placeholders and how the snapshot is taken). Each takes
the launch time `t` (integer microseconds, the storage form) the figures are for and
reads the status each order had then (the rules are in `launchday.analytics.report`):

    placed by t      placed_at_us <= t
    cancelled by t   cancelled_at_us <= t
    locked by t      status != 'cancelled' AND coalesce(locked_at_us, refundable_until_us) <= t

An order can be cancelled only while reserved, so a cancelled order never had a lock
time: the stored status alone keeps it out of the locked counts at every `t`, and a
reservation whose window has passed counts as locked without anything written.

Where the time is, the counts are read from indexes:

- orders placed by a time: `orders_by_launch_time (launch_id, placed_at_us)`;
- orders locked and cancelled by a time: the two partial indexes of migration
  `0002_report_indexes` (`launchday.store.migrations.REPORT_INDEXES`).

Everything else (status by SKU, profiles) needs the order rows: one pass reads them.
SQLite reads them through `orders_by_launch_time`, in placement order, which is also
the table's order; PostgreSQL's planner picks between that index and a scan of the
table, and joins `interest` by hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import msgspec

from launchday.analytics.report import (
    MINUTE_SERIES_SECONDS,
    SECOND_SERIES_SECONDS,
    US,
    InterestTally,
    OrderTally,
    OtherLaunch,
    PointTally,
    ProfileTally,
    Report,
    assemble_report,
    compare_launches,
    cumulative,
    dense_series,
    interest_window_us,
    milestone_offsets,
    rebin,
    series_length,
)
from launchday.analytics.waiting_room_figures import (
    Comebacks,
    SecondChance,
    WaitingRoomFigures,
    second_chance,
    waiting_room_figures,
)
from launchday.domain.clock import from_micros, to_micros
from launchday.domain.errors import NotFound, ValidationFailed
from launchday.domain.launch import Launch
from launchday.schemas import LaunchSpec, launch_from_spec
from launchday.store.ports import QueueRejoin, RoomLog, StoredWaitingRoom
from launchday.store.room_log import read_waiting_room
from launchday.store.sql import Connection, ReadConnection, read_connection
from launchday.waiting_room import WaitingRoom, rebuild_room

_LOCK_TIME: Final = "coalesce(locked_at_us, refundable_until_us)"
_LIVE: Final = "status != 'cancelled'"
# Below any stored time: the open lower bound of the first interval.
_BEFORE_ALL: Final = -(2**63)


def load_launch(db: ReadConnection, slug: str, *, field: str = "slug") -> tuple[int, Launch]:
    """The launch's row id and domain object, from its stored spec; NotFound if unknown."""
    row = db.one("SELECT id, spec FROM launches WHERE slug = :slug", {"slug": slug})
    if row is None:
        raise NotFound(f"no launch {slug!r}", field=field)
    spec = msgspec.json.decode(bytes(row[1]), type=LaunchSpec)
    return int(row[0]), launch_from_spec(spec)


# --- one pass over the orders ------------------------------------------------------

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


def order_pass(
    db: ReadConnection, launch_id: int, skus: Sequence[str], t: int
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
    row = db.first(
        f"""
        SELECT
            count(*), {buyers}, count(i.customer),
            count(*) FILTER (WHERE o.cancelled_at_us <= :t),
            coalesce(sum(o.refund_amount) FILTER (WHERE o.cancelled_at_us <= :t), 0),
            count(*) FILTER (WHERE o.status != 'cancelled' AND o.locked_at_us = o.placed_at_us),
            count(*) FILTER (WHERE o.status != 'cancelled'
                             AND o.locked_at_us > o.placed_at_us AND o.locked_at_us <= :t),
            count(*) FILTER (WHERE o.status != 'cancelled'
                             AND o.locked_at_us IS NULL AND o.refundable_until_us <= :t),
            coalesce(sum(o.deposit_amount) FILTER (
                WHERE o.status != 'cancelled'
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


# --- cumulative counts at times ----------------------------------------------------


def _counts_by(
    db: ReadConnection, launch_id: int, times: Sequence[int], column: str, where: str = ""
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
    rows = db.all(
        f"""
        WITH bounds(n, lo, hi) AS (VALUES {values})
        SELECT (SELECT count(*) FROM orders
                WHERE launch_id = :launch {where} AND {column} > lo AND {column} <= hi)
        FROM bounds ORDER BY n
        """,
        params,
    )
    return cumulative(row[0] for row in rows)


def orders_by(db: ReadConnection, launch_id: int, times: Sequence[int]) -> list[int]:
    """Orders placed at or before each of `times` (ascending), cancelled ones included."""
    return _counts_by(db, launch_id, times, "placed_at_us")


def locked_and_cancelled_by(
    db: ReadConnection, launch_id: int, times: Sequence[int]
) -> list[tuple[int, int]]:
    """(locked, cancelled) at each of `times` (ascending): range counts on the two partial
    indexes of migration 0002 (`orders_by_launch_lock`, `orders_by_launch_cancel`)."""
    locked = _counts_by(db, launch_id, times, _LOCK_TIME, f"AND {_LIVE}")
    cancelled = _counts_by(db, launch_id, times, "cancelled_at_us")
    return list(zip(locked, cancelled, strict=True))


def points_at(
    db: ReadConnection,
    launch_id: int,
    opens_us: int,
    offsets: Sequence[int],
) -> list[PointTally]:
    """Cumulative orders, locks and cancellations at each offset (seconds, ascending)."""
    times = [opens_us + offset * US for offset in offsets]
    placed = orders_by(db, launch_id, times)
    states = locked_and_cancelled_by(db, launch_id, times)
    return [
        PointTally(offset, orders, locked, cancelled)
        for offset, orders, (locked, cancelled) in zip(offsets, placed, states, strict=True)
    ]


# --- series ------------------------------------------------------------------------


def series_buckets(
    db: ReadConnection,
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
    rows = db.all(
        """
        SELECT (placed_at_us - :opens + :step - 1) / :step AS k, count(*)
        FROM orders
        WHERE launch_id = :launch AND placed_at_us > :after AND placed_at_us <= :until
        GROUP BY k
        """,
        {"opens": opens_us, "step": step, "launch": launch_id, "after": after, "until": until},
    )
    return {int(k): int(n) for k, n in rows}


def order_series(
    db: ReadConnection, launch_id: int, opens_us: int, t: int
) -> tuple[list[int], list[int]]:
    """Orders per second (the first hour) and per minute (the first week) up to `t`.

    The per-minute series adds up the per-second counts for the first hour and asks
    the database only for what came after it.
    """
    elapsed = t - opens_us
    second_end = opens_us + SECOND_SERIES_SECONDS * US
    minute_end = opens_us + MINUTE_SERIES_SECONDS * US
    seconds = series_buckets(db, launch_id, opens_us, 1, opens_us - 1, min(t, second_end))
    per_second = dense_series(seconds, series_length(elapsed, 1, SECOND_SERIES_SECONDS))
    later = series_buckets(db, launch_id, opens_us, 60, second_end, min(t, minute_end))
    per_minute = rebin(per_second, 60)
    length = series_length(elapsed, 60, MINUTE_SERIES_SECONDS)
    per_minute += [later.get(k, 0) for k in range(len(per_minute), length)]
    return per_second, per_minute


# --- interest ----------------------------------------------------------------------


def interest_tally(
    db: ReadConnection, launch_id: int, t: int, window_end: int | None
) -> InterestTally:
    """Registrations made by `t` and their answers; how many by `window_end` (None: `t`)."""
    columns = _PROFILE_COLUMNS.format(
        first_car="first_car_with_brand", new_to_brand="new_to_brand", phone="phone"
    )
    row = db.first(
        f"""
        SELECT count(*), {columns}, count(*) FILTER (WHERE registered_at_us <= :window)
        FROM interest
        WHERE launch_id = :launch AND registered_at_us <= :t
        """,
        {"launch": launch_id, "t": t, "window": t if window_end is None else window_end},
    )
    return InterestTally(_profile(row), in_window=row[7])


def registrations_by(db: ReadConnection, launch_id: int, t: int) -> int:
    """Registrations of interest made at or before `t`."""
    row = db.first(
        "SELECT count(*) FROM interest WHERE launch_id = :launch AND registered_at_us <= :t",
        {"launch": launch_id, "t": t},
    )
    return int(row[0])


# --- the report --------------------------------------------------------------------


def other_launch(
    db: ReadConnection,
    slug: str,
    now: datetime,
    offsets: Sequence[int],
    window_us: int | None,
) -> tuple[OtherLaunch, bool]:
    """What a comparison needs of launch `slug`, as of its own clock at real time `now`.

    Its orders at each of `offsets` it has reached, and its registrations by its
    `interest_opens_at` plus `window_us`; or all its registrations when the window
    cannot be aligned (`window_us` is None, or it has no `interest_opens_at`). The flag
    says whether the window was used.
    """
    other_id, other = load_launch(db, slug, field="compare")
    t = to_micros(other.clock(now))
    opens_us = to_micros(other.opens_at)
    reached = [offset for offset in offsets if offset * US <= t - opens_us]
    placed = orders_by(db, other_id, [opens_us + offset * US for offset in reached])
    aligned = False
    until = t
    if window_us is not None and other.interest_opens_at is not None:
        aligned = True
        until = min(t, to_micros(other.interest_opens_at) + window_us)
    registrations = registrations_by(db, other_id, until)
    return OtherLaunch(slug, dict(zip(reached, placed, strict=True)), registrations), aligned


def waiting_room_at(
    db: ReadConnection, launch_id: int, launch: Launch, as_of: datetime
) -> WaitingRoomFigures | None:
    """The waiting room's figures at `as_of`, replayed from its stored log."""
    stored = read_waiting_room(db, launch_id) if launch.admission is not None else None
    if stored is None:
        return None
    log = stored.log
    known = RoomLog(
        [t for t in log.tickets if t.joined_at <= as_of],
        [r for r in log.rejoins if r.at <= as_of],
        log.changes,
    )
    room = rebuild_room(launch, StoredWaitingRoom(stored.seed, known))
    snapshot = room.snapshot(as_of)
    chance = second_chance_at(db, launch_id, room, known.rejoins, as_of)
    return waiting_room_figures(
        snapshot.joined,
        snapshot.admitted,
        room.ledger.longest_queue(as_of),
        room.waits(as_of),
        chance,
    )


def second_chance_at(
    db: ReadConnection,
    launch_id: int,
    room: WaitingRoom,
    rejoins: list[QueueRejoin],
    as_of: datetime,
) -> SecondChance:
    """Lapsed admissions and returns by `as_of`: the room's admissions against the
    orders of its customers (one read of their placement times)."""
    customers: dict[str, Comebacks] = {}

    def of(customer: str) -> Comebacks:
        found = customers.get(customer)
        if found is None:
            found = customers[customer] = Comebacks([], None, 0, 0)
        return found

    for window in room.admissions(as_of):
        if window.expires_at <= as_of:
            of(window.customer).admissions.append((window.admitted_at, window.expires_at))
    for rejoin in rejoins:
        comebacks = of(rejoin.customer)
        first = comebacks.first_rejoin
        customers[rejoin.customer] = Comebacks(
            comebacks.admissions,
            rejoin.at if first is None else min(first, rejoin.at),
            comebacks.rejoins_kept + int(rejoin.kept_place),
            comebacks.rejoins_back + int(not rejoin.kept_place),
        )
    if not customers:
        return second_chance({}, {})
    order_times: dict[str, list[datetime]] = {}
    for customer, placed_us in db.all(
        "SELECT o.customer, o.placed_at_us FROM orders o"
        " JOIN queue_tickets q ON q.launch_id = o.launch_id AND q.customer = o.customer"
        " WHERE o.launch_id = :launch AND o.placed_at_us <= :t ORDER BY o.placed_at_us",
        {"launch": launch_id, "t": to_micros(as_of)},
    ):
        order_times.setdefault(customer, []).append(from_micros(placed_us))
    return second_chance(customers, order_times)


def build_report(
    conn: Connection | ReadConnection,
    slug: str,
    at: datetime | None = None,
    compare: str | None = None,
    *,
    now: datetime,
) -> Report:
    """The report of launch `slug` as of launch time `at` (default: its clock at real `now`).

    `now` is real time: each launch's clock turns it into launch time, so a rehearsal
    at `time_scale` 60 reports an hour after opening one real minute after it. An `at`
    past the launch's current time is clamped to it (the report's `as_of` says which
    time was used): the future has no orders yet. `compare` names a launch to compare
    with, on time since each one opened (see `Comparison`). All queries read one
    snapshot (REPEATABLE READ on PostgreSQL). `conn` is a SQLite or psycopg connection,
    or a `ReadConnection` over one. Raises NotFound for an unknown launch (field `slug`
    or `compare`) and ValidationFailed for a time without a time zone.
    """
    for name, value in (("now", now), ("at", at)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(f"{name} needs a time zone", field=name)
    db = read_connection(conn)
    with db.snapshot():
        launch_id, launch = load_launch(db, slug)
        current = launch.clock(now)
        as_of = current if at is None or at > current else at
        t = to_micros(as_of)
        opens_us = to_micros(launch.opens_at)
        offsets = milestone_offsets(t - opens_us, launch.report_milestones)
        window_us = interest_window_us(launch, as_of)
        window_end = None
        if window_us is not None and launch.interest_opens_at is not None:
            window_end = to_micros(launch.interest_opens_at) + window_us
        interest = interest_tally(db, launch_id, t, window_end)
        orders, buyers = order_pass(db, launch_id, [v.sku for v in launch.variants], t)
        per_second, per_minute = order_series(db, launch_id, opens_us, t)
        points = points_at(db, launch_id, opens_us, offsets)
        room = waiting_room_at(db, launch_id, launch, as_of)
        report = assemble_report(
            launch,
            as_of=as_of,
            generated_at=now,
            orders=orders,
            points=points,
            per_second=per_second,
            per_minute=per_minute,
            interest=interest.profile,
            buyers=buyers,
        )
        report = msgspec.structs.replace(report, waiting_room=room)
        if compare is None:
            return report
        other, aligned = other_launch(db, compare, now, offsets, window_us)
    registrations = interest.in_window if aligned else interest.profile.count
    comparison = compare_launches(
        report.milestones, other, registrations, window_us if aligned else None
    )
    return msgspec.structs.replace(report, compare=comparison)
