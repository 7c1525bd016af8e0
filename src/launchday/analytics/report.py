"""The launch report: its wire types, and pure functions that assemble it from counts.

Nothing here does I/O. A store's queries fetch counts (the `*Tally` values below) as
of one launch time; the functions here turn them into a `Report`. Every time in a
report is launch time (see `launchday.domain.clock`): for a rehearsal at
`time_scale` 60, "one hour after opening" is one real minute after it.

The rules, in one place:

- An order counts from the moment it is placed, whatever became of it: the published
  figures ("289,000 orders in the first hour") count orders placed, so `orders.total`,
  milestone `orders` and the series include cancelled orders.
- An order is cancelled at `t` when it was cancelled at or before `t`; it is locked at
  `t` when it was not cancelled and its lock time is at or before `t`, the lock time
  being when the buyer locked it (early, or at placement for a zero-hour window), else
  the end of its cooling-off window; otherwise it is reserved. A cancelled order is
  never counted as locked, at any time.
- Milestones are the standard offsets (1, 2, 3 and 10 minutes, 1, 18, 24 and 72
  hours, 7 days) and the launch's own `report_milestones`, each once it is reached.
- The series count orders per step after opening, right-closed: `orders[k]` counts
  orders placed in `(k - 1, k]` steps after opening and `orders[0]` those placed at
  the opening instant, so `sum(orders[: k + 1])` is the cumulative count `k` steps
  after opening, by the same rule as the milestones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Final

import msgspec

from launchday.analytics.delivery_figures import DeliveryFigures
from launchday.analytics.payment_figures import PaymentFigures
from launchday.analytics.store_figures import StoreFigures
from launchday.analytics.waiting_room_figures import WaitingRoomFigures
from launchday.domain.clock import rfc3339
from launchday.domain.launch import Launch

US: Final = 1_000_000
# 1m, 2m, 3m, 10m, 1h, 18h, 24h, 72h, 7d after opening (docs/api.md, "The report").
STANDARD_MILESTONES: Final = (60, 120, 180, 600, 3600, 64_800, 86_400, 259_200, 604_800)
# How far each series reaches after opening. A per-second series of a week would be
# 604,801 numbers in every report; the first hour is where seconds matter, and the
# per-minute series carries on from there for the week the milestones cover. The
# per-minute series sums the per-second one over the first span, so that span must be
# a whole number of minutes, and no longer than the per-minute one.
SECOND_SERIES_SECONDS: Final = 3600
MINUTE_SERIES_SECONDS: Final = 604_800

_OUT = {"frozen": True, "forbid_unknown_fields": True}


# --- the report, as JSON -----------------------------------------------------------


class ByStatus(msgspec.Struct, **_OUT):
    """Orders placed by the report time, by their status at that time."""

    reserved: int
    locked: int
    cancelled: int


class OrderTotals(msgspec.Struct, **_OUT):
    """Orders placed by the report time (cancelled ones included)."""

    total: int
    by_status: ByStatus
    by_sku: dict[str, int]


class LockTotals(msgspec.Struct, **_OUT):
    """Orders locked by the report time, by how they locked, and the deposits they hold."""

    total: int
    at_placement: int  # a zero-hour window: firm from the first instant
    early: int  # the buyer locked inside the window
    window_ended: int  # the cooling-off window ran out
    deposits: int  # whole currency units held by locked orders


class Cancellations(msgspec.Struct, **_OUT):
    """Orders cancelled by the report time, and the deposits refunded for them."""

    count: int
    refunded_amount: int


class Milestone(msgspec.Struct, **_OUT):
    """Cumulative figures `after_seconds` after opening (`at`, in launch time)."""

    after_seconds: int
    at: str
    orders: int
    locked: int
    cancelled: int


class Series(msgspec.Struct, **_OUT):
    """Orders per step after opening; `orders[k]` counts those placed in `(k-1, k]` steps."""

    step_seconds: int
    orders: list[int]


class Answered(msgspec.Struct, **_OUT):
    """How many answered each profile question: the denominators of the shares."""

    first_car_with_brand: int
    new_to_brand: int
    phone: int


class InterestMix(msgspec.Struct, **_OUT):
    """Who registered interest by the report time.

    Each share is over the registrations that answered that question (a registration
    that left it blank is in neither numerator nor denominator); None when none did.
    `apple_users` is the share of those who gave a phone that gave `ios`.
    """

    registrations: int
    first_car_with_brand: float | None
    new_to_brand: float | None
    apple_users: float | None
    answered: Answered


class BuyerMix(msgspec.Struct, **_OUT):
    """Who placed the orders counted in `orders.total`, one entry per order.

    Each answer is the order's own profile, else its customer's registration of
    interest (field by field). Shares are over the orders with an answer, as in
    `InterestMix`. `registered` counts orders whose customer registered interest.
    """

    orders: int
    registered: int
    first_car_with_brand: float | None
    new_to_brand: float | None
    apple_users: float | None
    answered: Answered


class RatioAt(msgspec.Struct, **_OUT):
    """Orders of this launch over the other's, the same time after each one's opening."""

    after_seconds: int
    orders: int
    other_orders: int
    ratio: float | None  # None when the other launch had no orders by then


class Comparison(msgspec.Struct, **_OUT):
    """This launch against another, aligned on time since each one opened.

    `orders_ratio_at` has one entry per milestone of this report that the other launch
    has reached too. `interest_ratio` compares registrations over the same window
    after each launch's `interest_opens_at`: the window is this launch's, from its
    `interest_opens_at` to its opening (or to the report time, if earlier), and each
    launch counts the registrations made by its own `interest_opens_at` plus that
    window (`interest_window_seconds`), up to its own current time. When either launch
    has no `interest_opens_at` there is no common start to align on, so the whole
    counts are compared (this launch's by the report time, the other's by its current
    time) and `interest_window_seconds` is None. `registrations` and
    `other_registrations` are the two counts compared.
    """

    launch: str
    orders_ratio_at: list[RatioAt]
    interest_ratio: float | None
    interest_window_seconds: int | None
    registrations: int
    other_registrations: int


class Report(msgspec.Struct, **_OUT):
    """The launch report: what was ordered, locked and cancelled, when, and by whom.

    `as_of` is the launch time the figures are for and `generated_at` the real time
    the report was made; `elapsed_seconds` is `as_of` minus `opens_at`, whole seconds.
    """

    launch: str
    name: str
    currency: str
    time_scale: float
    opens_at: str
    as_of: str
    generated_at: str
    elapsed_seconds: int
    orders: OrderTotals
    locked: LockTotals
    cancellations: Cancellations
    milestones: list[Milestone]
    series: Series
    series_per_minute: Series
    interest: InterestMix
    buyers: BuyerMix
    compare: Comparison | None = None
    waiting_room: WaitingRoomFigures | None = None
    delivery: DeliveryFigures | None = None
    payments: PaymentFigures | None = None
    stores: StoreFigures | None = None


# --- counts, as a store's queries return them --------------------------------------


@dataclass(frozen=True, slots=True)
class OrderTally:
    """Orders placed by one launch time, with their status at that time."""

    total: int
    by_sku: dict[str, int]
    cancelled: int
    refunded_amount: int
    locked_at_placement: int
    locked_early: int
    locked_window_ended: int
    locked_deposits: int

    @property
    def locked(self) -> int:
        return self.locked_at_placement + self.locked_early + self.locked_window_ended


@dataclass(frozen=True, slots=True)
class PointTally:
    """Cumulative counts at one offset after opening."""

    after_seconds: int
    orders: int
    locked: int
    cancelled: int


@dataclass(frozen=True, slots=True)
class ProfileTally:
    """Answers to the profile questions over a set of registrations or orders."""

    count: int
    first_car_answered: int
    first_car_yes: int
    new_to_brand_answered: int
    new_to_brand_yes: int
    phone_answered: int
    ios: int
    registered: int = 0  # orders only: how many had a registration of interest


@dataclass(frozen=True, slots=True)
class InterestTally:
    """Registrations by the report time, and those inside the comparison window."""

    profile: ProfileTally
    in_window: int


@dataclass(frozen=True, slots=True)
class OtherLaunch:
    """What a comparison needs of the other launch."""

    slug: str
    orders_at: Mapping[int, int]  # orders by each offset (seconds) it has reached
    registrations: int


# --- pure arithmetic ---------------------------------------------------------------


def micros_between(start: datetime, end: datetime) -> int:
    """Exact microseconds from `start` to `end`."""
    delta = end - start
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def elapsed_seconds(launch: Launch, as_of: datetime) -> int:
    """Whole seconds from opening to `as_of` (0 before opening)."""
    return max(micros_between(launch.opens_at, as_of), 0) // US


def milestone_offsets(elapsed_us: int, extra: Iterable[int] = ()) -> list[int]:
    """The standard and extra offsets (seconds) reached `elapsed_us` after opening, sorted."""
    wanted = set(STANDARD_MILESTONES) | set(extra)
    return sorted(m for m in wanted if m * US <= elapsed_us)


def cumulative(increments: Iterable[int]) -> list[int]:
    """Running totals of counts per interval."""
    return list(accumulate(increments))


def share(yes: int, answered: int) -> float | None:
    """yes / answered; None when nobody answered."""
    return yes / answered if answered else None


def ratio(this: int, other: int) -> float | None:
    """this / other; None when other is 0."""
    return this / other if other else None


def series_length(elapsed_us: int, step_seconds: int, span_seconds: int) -> int:
    """How many right-closed buckets cover `[0, min(elapsed, span)]`; 0 before opening."""
    if elapsed_us < 0:
        return 0
    covered = min(elapsed_us, span_seconds * US)
    step = step_seconds * US
    return -(-covered // step) + 1


def dense_series(buckets: Mapping[int, int], length: int) -> list[int]:
    """The counts of buckets 0 .. length-1, zero where none was returned."""
    return [buckets.get(k, 0) for k in range(length)]


def rebin(orders: Sequence[int], factor: int) -> list[int]:
    """A right-closed series of `factor` times the step: bucket 0 stays, k sums (k-1, k]."""
    coarse = [orders[0]] if orders else []
    for start in range(1, len(orders), factor):
        coarse.append(sum(orders[start : start + factor]))
    return coarse


def profile_shares(
    tally: ProfileTally,
) -> tuple[float | None, float | None, float | None, Answered]:
    """The three shares of a profile tally, each over those who answered, and the counts."""
    answered = Answered(
        first_car_with_brand=tally.first_car_answered,
        new_to_brand=tally.new_to_brand_answered,
        phone=tally.phone_answered,
    )
    return (
        share(tally.first_car_yes, tally.first_car_answered),
        share(tally.new_to_brand_yes, tally.new_to_brand_answered),
        share(tally.ios, tally.phone_answered),
        answered,
    )


def interest_mix(tally: ProfileTally) -> InterestMix:
    """Who registered interest, from their answers."""
    first_car, new_to_brand, apple, answered = profile_shares(tally)
    return InterestMix(tally.count, first_car, new_to_brand, apple, answered)


def buyer_mix(tally: ProfileTally) -> BuyerMix:
    """Who placed the orders, from their (or their registrations') answers."""
    first_car, new_to_brand, apple, answered = profile_shares(tally)
    return BuyerMix(tally.count, tally.registered, first_car, new_to_brand, apple, answered)


def interest_window_us(launch: Launch, as_of: datetime) -> int | None:
    """The interest window compared across launches (see `Comparison`), in microseconds."""
    if launch.interest_opens_at is None:
        return None
    end = min(launch.opens_at, as_of)
    return max(micros_between(launch.interest_opens_at, end), 0)


def compare_launches(
    milestones: Sequence[Milestone],
    other: OtherLaunch,
    registrations: int,
    window_us: int | None,
) -> Comparison:
    """Ratios of this launch to `other` at the offsets both have reached."""
    theirs = other.orders_at
    return Comparison(
        launch=other.slug,
        orders_ratio_at=[
            RatioAt(
                after_seconds=m.after_seconds,
                orders=m.orders,
                other_orders=theirs[m.after_seconds],
                ratio=ratio(m.orders, theirs[m.after_seconds]),
            )
            for m in milestones
            if m.after_seconds in theirs
        ],
        interest_ratio=ratio(registrations, other.registrations),
        interest_window_seconds=None if window_us is None else window_us // US,
        registrations=registrations,
        other_registrations=other.registrations,
    )


def assemble_report(
    launch: Launch,
    *,
    as_of: datetime,
    generated_at: datetime,
    orders: OrderTally,
    points: Sequence[PointTally],
    per_second: Sequence[int],
    per_minute: Sequence[int],
    interest: ProfileTally,
    buyers: ProfileTally,
    compare: Comparison | None = None,
) -> Report:
    """The report of `launch` as of launch time `as_of`, from counts taken at that time."""
    cancelled = orders.cancelled
    locked = orders.locked
    by_sku = {variant.sku: orders.by_sku.get(variant.sku, 0) for variant in launch.variants}
    return Report(
        launch=launch.slug,
        name=launch.name,
        currency=launch.currency,
        time_scale=launch.time_scale,
        opens_at=rfc3339(launch.opens_at),
        as_of=rfc3339(as_of),
        generated_at=rfc3339(generated_at),
        elapsed_seconds=elapsed_seconds(launch, as_of),
        orders=OrderTotals(
            total=orders.total,
            by_status=ByStatus(
                reserved=orders.total - locked - cancelled, locked=locked, cancelled=cancelled
            ),
            by_sku=by_sku,
        ),
        locked=LockTotals(
            total=locked,
            at_placement=orders.locked_at_placement,
            early=orders.locked_early,
            window_ended=orders.locked_window_ended,
            deposits=orders.locked_deposits,
        ),
        cancellations=Cancellations(count=cancelled, refunded_amount=orders.refunded_amount),
        milestones=[
            Milestone(
                after_seconds=p.after_seconds,
                at=rfc3339(launch.opens_at + timedelta(seconds=p.after_seconds)),
                orders=p.orders,
                locked=p.locked,
                cancelled=p.cancelled,
            )
            for p in points
        ],
        series=Series(step_seconds=1, orders=list(per_second)),
        series_per_minute=Series(step_seconds=60, orders=list(per_minute)),
        interest=interest_mix(interest),
        buyers=buyer_mix(buyers),
        compare=compare,
    )
