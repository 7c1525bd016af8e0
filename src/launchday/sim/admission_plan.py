"""How a rehearsal's crowd goes through its waiting room, and whether its options allow it.

Every default follows the scenario's own curve, whatever its shape (a stampede, a
campaign that builds over a week, two markets opening a day apart, fifty orders):

- The pre-queue. Buyers due in the opening minute, or by the first milestone if it
  comes sooner (`PRE_QUEUE_SECONDS`, assumed), were waiting before orders opened;
  everyone else joins when the scenario has them arrive, polls as told and orders
  once admitted. A campaign whose first milestone is a day away has few people at
  the opening minute, and rehearses that way.
- The admission rate: twice the curve's steepest slope, times scale (and at least
  1/s). The pre-queue, which arrived at no more than that slope, is admitted within
  half of its span, and later arrivals never wait long: so every buyer orders close
  to the time the scenario gives.
- The token lifetime: the API's default of 900 launch seconds, or `TOKEN_REAL_SECONDS`
  of real time at the rehearsal's speed when that is longer, so that a buyer's poll
  and order round trips fit inside it however fast the launch clock runs. The rejoin
  grace is as long again (the launch's default).
- Lapses (`LAPSE_SHARE`, assumed): some buyers are admitted, step away until their
  token has expired, and come back to order; half come back within the grace period
  and keep their place, half after it and go to the back of the queue. Each joins
  early enough to come back at the time the scenario has them order, so lapsing moves
  no order off the curve; only buyers with that much time after the pre-queue has
  gone through are chosen.

`admission_shortfalls` replays a plan through the waiting room's arithmetic (place k
is admitted at max(its join, place k-1's admission) + 1/rate, as
`launchday.domain.admission` admits) and says which milestones a rate would miss, so
a rehearsal whose options cannot meet its scenario is refused before it starts, with
the rate that would work (`minimum_admission_rate`). The round trips of a buyer's
journey are left out: the load driver starts journeys early by what they take
(launchday.sim.driver). Pure: times are launch seconds after the opening.
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from launchday.sim.curve import milestone_curve
from launchday.sim.scenario import Milestone, Scenario

PRE_QUEUE_SECONDS: Final = 60.0
ADMISSION_HEADROOM: Final = 2.0
TOKEN_REAL_SECONDS: Final = 5.0
DEFAULT_TOKEN_TTL: Final = 900
MAX_TOKEN_TTL: Final = 31_622_400  # the API's bound (launchday.api.wire.AdmissionSpec)
LAPSE_SHARE: Final = 0.01
# Where in the grace period a lapsed buyer comes back: keepers early in it, the others
# a little after it (fractions of the grace; assumed).
KEEP_RETURN: Final = (0.2, 0.6)
BACK_RETURN: Final = (1.2, 1.5)
# Real seconds from admission to the order reaching the server, for the check.
ROUND_TRIP_REAL_SECONDS: Final = 0.02


@dataclass(frozen=True, slots=True)
class Lapse:
    """A buyer who lets an admission expire, then comes back and orders."""

    join_at: float  # joins the queue
    comeback_at: float  # joins again: the time the scenario has them order
    keeps_place: bool  # comes back within the grace period


@dataclass(frozen=True, slots=True)
class QueueModel:
    """A rehearsal's waiting room as its check sees it (all but the rate)."""

    pre_queue_seconds: float
    ttl: float
    grace: float
    lapses: dict[str, Lapse]


@dataclass(frozen=True, slots=True)
class Shortfall:
    """A milestone a plan would miss through the waiting room."""

    after_seconds: float
    expected: int
    ordered: int


def pre_queue_span(scenario: Scenario) -> float:
    """Buyers due by then are in the pre-queue: the opening minute, or the first milestone."""
    return min(scenario.milestones[0].after_seconds, PRE_QUEUE_SECONDS)


def peak_rate(scenario: Scenario) -> float:
    """The scenario's steepest arrival rate, orders per launch second."""
    return milestone_curve(scenario.milestones).peak_rate()


def default_admission_rate(scenario: Scenario, scale: float) -> float:
    """Twice the steepest arrivals (see the module), rounded up to a tenth, at least 1/s."""
    wanted = ADMISSION_HEADROOM * peak_rate(scenario) * scale
    return max(math.ceil(wanted * 10) / 10, 1.0)


def default_token_ttl(speed: float) -> int:
    """Launch seconds a token lives: 900, or TOKEN_REAL_SECONDS of real time if longer."""
    return min(MAX_TOKEN_TTL, max(DEFAULT_TOKEN_TTL, math.ceil(TOKEN_REAL_SECONDS * speed)))


def pre_queue_drained(arrivals: Sequence[float], pre_queue_seconds: float, rate: float) -> float:
    """When the last of the pre-queue is admitted."""
    return sum(1 for at in arrivals if at <= pre_queue_seconds) / rate


def plan_lapses(
    buyers: Sequence[tuple[str, float]],
    share: float,
    *,
    ttl: float,
    grace: float,
    not_before: float,
    rng: random.Random,
) -> dict[str, Lapse]:
    """Which buyers (id, order time) lapse and come back, and when (see the module).

    `share` of all buyers, drawn among those whose lapse would start after `not_before`
    (once the pre-queue has been admitted); half keep their place, half do not.
    """
    wanted = round(share * len(buyers))
    if wanted <= 0 or grace <= 0:
        return {}
    # The longest a plan may need: a token's life, then past the grace.
    longest = ttl + BACK_RETURN[1] * grace
    eligible = [(customer, at) for customer, at in buyers if at - longest >= not_before]
    chosen = rng.sample(eligible, min(wanted, len(eligible)))
    lapses: dict[str, Lapse] = {}
    for index, (customer, at) in enumerate(sorted(chosen, key=lambda pair: pair[0])):
        keeps = index % 2 == 0
        low, high = KEEP_RETURN if keeps else BACK_RETURN
        away = ttl + grace * rng.uniform(low, high)
        lapses[customer] = Lapse(at - away, at, keeps)
    return lapses


def admission_shortfalls(
    buyers: Sequence[tuple[str, float]],
    milestones: Sequence[Milestone],
    room: QueueModel,
    rate: float,
    tolerance: tuple[float, int],
) -> list[Shortfall]:
    """The milestones that orders through `room` at `rate` would miss by more than
    `tolerance` (share, orders); `buyers` are (id, order time) of everyone who orders."""
    ordered = sorted(order_times(buyers, room, rate))
    planned = sorted(at for _, at in buyers)
    share, orders = tolerance
    missed = []
    for milestone in milestones:
        expected = _count_until(planned, milestone.after_seconds)
        got = _count_until(ordered, milestone.after_seconds)
        if abs(got - expected) > max(share * expected, orders):
            missed.append(Shortfall(milestone.after_seconds, expected, got))
    return missed


def order_times(buyers: Sequence[tuple[str, float]], room: QueueModel, rate: float) -> list[float]:
    """When each buyer's order goes, through the queue's arithmetic (unsorted).

    Places are admitted in the order they join; a lapsed buyer's return to the back of
    the queue is a join at its comeback time, which always comes after its first place
    was admitted, so one pass in time order settles everyone.
    """
    lapses = room.lapses
    # (join time, tie-break, customer, is this a return to the back)
    line: list[tuple[float, int, str, bool]] = []
    for index, (customer, at) in enumerate(buyers):
        lapse = lapses.get(customer)
        joined = lapse.join_at if lapse else (0.0 if at <= room.pre_queue_seconds else at)
        line.append((joined, index, customer, False))
    heapq.heapify(line)
    times: list[float] = []
    admitted = 0.0
    while line:
        joined, index, customer, returning = heapq.heappop(line)
        admitted = max(joined, admitted) + 1 / rate
        lapse = lapses.get(customer)
        if lapse is None or returning:
            times.append(admitted)
        elif lapse.comeback_at < admitted + room.ttl + room.grace:
            # Its token still valid, or its place kept: it orders on coming back.
            times.append(max(lapse.comeback_at, admitted))
        else:
            heapq.heappush(line, (lapse.comeback_at, index, customer, True))
    return times


def minimum_admission_rate(
    buyers: Sequence[tuple[str, float]],
    milestones: Sequence[Milestone],
    room: QueueModel,
    tolerance: tuple[float, int],
) -> float:
    """The least rate (two significant digits, rounded up) whose orders meet every
    milestone within `tolerance`; infinite if none can."""

    def works(rate: float) -> bool:
        return not admission_shortfalls(buyers, milestones, room, rate, tolerance)

    high = 1.0
    while not works(high):
        high *= 2
        if high > 1e9:
            return math.inf  # the scenario's own times are too tight for any rate
    low = high / 2 if high > 1.0 else 0.0
    for _ in range(40):
        if high - low <= high * 1e-3:
            break
        middle = (low + high) / 2
        if works(middle):
            high = middle
        else:
            low = middle
    digits = 2 - math.ceil(math.log10(high))
    return float(math.ceil(high * 10.0**digits) / 10.0**digits)


def _count_until(sorted_times: Sequence[float], until: float) -> int:
    """How many of `sorted_times` are at or before `until`."""
    return bisect.bisect_right(sorted_times, until)
