"""`build_report`: the store's counts, read in one snapshot, assembled into the report.

The reads (`ReportReads`) are the store's (launchday.store.reads); the rules that turn
counts into figures are in `launchday.analytics.report` and
`launchday.analytics.waiting_room_figures`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

import msgspec

from launchday.analytics.delivery_figures import delivery_figures
from launchday.analytics.payment_figures import payment_figures
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
    dense_series,
    interest_window_us,
    milestone_offsets,
    rebin,
    series_length,
)
from launchday.analytics.store_figures import (
    CONVERSION_DAYS,
    ConversionTally,
    OriginTally,
    SlotTally,
    StoreBookings,
    StoreFigures,
    has_store_activity,
    store_figures,
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
from launchday.domain.retail_store import RetailStore
from launchday.domain.waiting_room import (
    QueueRejoin,
    RoomLog,
    StoredWaitingRoom,
    WaitingRoom,
    rebuild_room,
)
from launchday.services.ports.payment_records import LedgerFigures


class ReportReads(Protocol):
    """What a report reads, all inside one snapshot (the store's `SnapshotReads`)."""

    def snapshot(self) -> AbstractContextManager[None]: ...

    def launch_with_id(self, slug: str) -> tuple[int, Launch] | None: ...

    def order_pass(
        self, launch_id: int, skus: Sequence[str], t: int
    ) -> tuple[OrderTally, ProfileTally]: ...

    def orders_by(self, launch_id: int, times: Sequence[int]) -> list[int]: ...

    def locked_and_cancelled_by(
        self, launch_id: int, times: Sequence[int]
    ) -> list[tuple[int, int]]: ...

    def series_buckets(
        self, launch_id: int, opens_us: int, step_seconds: int, after: int, until: int
    ) -> dict[int, int]: ...

    def interest_tally(self, launch_id: int, t: int, window_end: int | None) -> InterestTally: ...

    def registrations_by(self, launch_id: int, t: int) -> int: ...

    def waiting_room(self, launch: str) -> StoredWaitingRoom | None: ...

    def orders_of_queued_customers(self, launch_id: int, t: int) -> list[tuple[str, int]]: ...

    def production_plan(self, launch: str) -> tuple[bytes, int] | None: ...

    def payment_report(self, launch: str) -> dict[str, int]: ...

    def ledger_figures(self, launch: str, at: datetime) -> LedgerFigures: ...

    def promised_weeks(self, launch: str) -> list[tuple[str, int | None, int]]: ...

    def promise_moves_by_cause(self, launch: str) -> list[tuple[str, int]]: ...

    def retail_stores(self) -> list[RetailStore]: ...

    def order_origins(self, launch_id: int, t: int) -> OriginTally: ...

    def bookings_by_store(self, launch_id: int) -> list[StoreBookings]: ...

    def test_drive_slots(self, launch_id: int) -> list[SlotTally]: ...

    def test_drive_conversion(
        self, launch_id: int, t: int, window_days: int
    ) -> ConversionTally: ...


def load_launch(reads: ReportReads, slug: str, *, field: str = "slug") -> tuple[int, Launch]:
    """The launch's row id and domain object; NotFound if unknown."""
    found = reads.launch_with_id(slug)
    if found is None:
        raise NotFound(f"no launch {slug!r}", field=field)
    return found


def points_at(
    reads: ReportReads, launch_id: int, opens_us: int, offsets: Sequence[int]
) -> list[PointTally]:
    """Cumulative orders, locks and cancellations at each offset (seconds, ascending)."""
    times = [opens_us + offset * US for offset in offsets]
    placed = reads.orders_by(launch_id, times)
    states = reads.locked_and_cancelled_by(launch_id, times)
    return [
        PointTally(offset, orders, locked, cancelled)
        for offset, orders, (locked, cancelled) in zip(offsets, placed, states, strict=True)
    ]


def order_series(
    reads: ReportReads, launch_id: int, opens_us: int, t: int
) -> tuple[list[int], list[int]]:
    """Orders per second (the first hour) and per minute (the first week) up to `t`.

    The per-minute series adds up the per-second counts for the first hour and asks
    the database only for what came after it.
    """
    elapsed = t - opens_us
    second_end = opens_us + SECOND_SERIES_SECONDS * US
    minute_end = opens_us + MINUTE_SERIES_SECONDS * US
    seconds = reads.series_buckets(launch_id, opens_us, 1, opens_us - 1, min(t, second_end))
    per_second = dense_series(seconds, series_length(elapsed, 1, SECOND_SERIES_SECONDS))
    later = reads.series_buckets(launch_id, opens_us, 60, second_end, min(t, minute_end))
    per_minute = rebin(per_second, 60)
    length = series_length(elapsed, 60, MINUTE_SERIES_SECONDS)
    per_minute += [later.get(k, 0) for k in range(len(per_minute), length)]
    return per_second, per_minute


def other_launch(
    reads: ReportReads,
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
    other_id, other = load_launch(reads, slug, field="compare")
    t = to_micros(other.clock(now))
    opens_us = to_micros(other.opens_at)
    reached = [offset for offset in offsets if offset * US <= t - opens_us]
    placed = reads.orders_by(other_id, [opens_us + offset * US for offset in reached])
    aligned = False
    until = t
    if window_us is not None and other.interest_opens_at is not None:
        aligned = True
        until = min(t, to_micros(other.interest_opens_at) + window_us)
    registrations = reads.registrations_by(other_id, until)
    return OtherLaunch(slug, dict(zip(reached, placed, strict=True)), registrations), aligned


def waiting_room_at(
    reads: ReportReads, launch_id: int, launch: Launch, as_of: datetime
) -> WaitingRoomFigures | None:
    """The waiting room's figures at `as_of`, replayed from its stored log."""
    stored = reads.waiting_room(launch.slug) if launch.admission is not None else None
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
    chance = second_chance_at(reads, launch_id, room, known.rejoins, as_of)
    return waiting_room_figures(
        snapshot.joined,
        snapshot.admitted,
        room.ledger.longest_queue(as_of),
        room.waits(as_of),
        chance,
    )


def second_chance_at(
    reads: ReportReads,
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
    for customer, placed_us in reads.orders_of_queued_customers(launch_id, to_micros(as_of)):
        order_times.setdefault(customer, []).append(from_micros(placed_us))
    return second_chance(customers, order_times)


def stores_at(
    reads: ReportReads, launch_id: int, t: int, orders_not_cancelled: int
) -> StoreFigures | None:
    """The stores' figures at launch time `t`; None when no store took part.

    Without stores nothing else is read; then the orders by origin and the bookings by
    store: without a store order, a booking or a delivery centre named, the slots and the
    conversion are not read at all.
    """
    stores = reads.retail_stores()
    if not stores:  # most launches: no pass over the orders for a section left out
        return None
    origins = reads.order_origins(launch_id, t)
    bookings = reads.bookings_by_store(launch_id)
    if not has_store_activity(origins, bookings):
        return None
    return store_figures(
        stores,
        origins,
        bookings,
        reads.test_drive_slots(launch_id),
        reads.test_drive_conversion(launch_id, t, CONVERSION_DAYS),
        orders_not_cancelled,
    )


def build_report(
    reads: ReportReads,
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
    snapshot (REPEATABLE READ on PostgreSQL). Raises NotFound for an unknown launch
    (field `slug` or `compare`) and ValidationFailed for a time without a time zone.
    """
    for name, value in (("now", now), ("at", at)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(f"{name} needs a time zone", field=name)
    with reads.snapshot():
        launch_id, launch = load_launch(reads, slug)
        current = launch.clock(now)
        as_of = current if at is None or at > current else at
        t = to_micros(as_of)
        opens_us = to_micros(launch.opens_at)
        offsets = milestone_offsets(t - opens_us, launch.report_milestones)
        window_us = interest_window_us(launch, as_of)
        window_end = None
        if window_us is not None and launch.interest_opens_at is not None:
            window_end = to_micros(launch.interest_opens_at) + window_us
        interest = reads.interest_tally(launch_id, t, window_end)
        orders, buyers = reads.order_pass(launch_id, [v.sku for v in launch.variants], t)
        per_second, per_minute = order_series(reads, launch_id, opens_us, t)
        points = points_at(reads, launch_id, opens_us, offsets)
        room = waiting_room_at(reads, launch_id, launch, as_of)
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
        if reads.production_plan(slug) is not None:
            skus = [v.sku for v in launch.variants]
            promised = reads.promised_weeks(slug)
            delivery = delivery_figures(skus, promised, reads.promise_moves_by_cause(slug))
            report = msgspec.structs.replace(report, delivery=delivery)
        if launch.payments is not None:
            figures = payment_figures(
                launch.payments.provider,
                launch.currency,
                reads.payment_report(slug),
                reads.ledger_figures(slug, as_of),
            )
            report = msgspec.structs.replace(report, payments=figures)
        stores = stores_at(reads, launch_id, t, orders.total - orders.cancelled)
        if stores is not None:
            report = msgspec.structs.replace(report, stores=stores)
        if compare is None:
            return report
        other, aligned = other_launch(reads, compare, now, offsets, window_us)
    registrations = interest.in_window if aligned else interest.profile.count
    comparison = compare_launches(
        report.milestones, other, registrations, window_us if aligned else None
    )
    return msgspec.structs.replace(report, compare=comparison)
