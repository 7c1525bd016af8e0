"""The waiting room in the report: queue figures, and the second chance's lapses and returns.

Pure: the caller replays the room (launchday.domain.waiting_room) and reads the orders; this
names the numbers.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import msgspec

_OUT = {"frozen": True, "forbid_unknown_fields": True}


class SecondChance(msgspec.Struct, **_OUT):
    """Admissions that lapsed, and the buyers who came back (launchday.domain.rejoin).

    `lapsed` counts admissions whose token expired with no order placed while it was
    valid; `rejoined` the lapsed tickets that joined again (each return once), split
    into those that kept their place and those sent to the back of the queue;
    `came_back_and_ordered` the customers who rejoined and then placed an order.
    """

    lapsed: int
    rejoined: int
    kept_place: int
    back_of_queue: int
    came_back_and_ordered: int


NO_SECOND_CHANCE: Final = SecondChance(0, 0, 0, 0, 0)


class WaitingRoomFigures(msgspec.Struct, **_OUT):
    """The waiting room by the report time, in launch seconds.

    `joined` counts places in the queue given out (a rejoin at the back is a join
    again); `longest_queue` is the most people waiting at once; a wait runs from
    joining (for the pre-queue, from the opening) to admission, over the places
    admitted so far.
    """

    joined: int
    admitted: int
    longest_queue: int
    wait_p50_seconds: float | None
    wait_p99_seconds: float | None
    wait_max_seconds: float | None
    second_chance: SecondChance = NO_SECOND_CHANCE


@dataclass(frozen=True, slots=True)
class Comebacks:
    """One customer's admissions and rejoins, for `second_chance`: launch times."""

    admissions: list[tuple[datetime, datetime]]  # (admitted, expires) of expired ones
    first_rejoin: datetime | None
    rejoins_kept: int
    rejoins_back: int


def second_chance(
    customers: Mapping[str, Comebacks], order_times: Mapping[str, Sequence[datetime]]
) -> SecondChance:
    """The lapse and return figures, from each customer's admissions and rejoins and the
    times of their orders (sorted), all as of the report's time."""
    lapsed = ordered = kept = back = 0
    for customer, comebacks in customers.items():
        times = order_times.get(customer, ())
        for admitted, expires in comebacks.admissions:
            # Lapsed: the token ran out and no order came while it was valid.
            if bisect.bisect_left(times, admitted) == bisect.bisect_left(times, expires):
                lapsed += 1
        kept += comebacks.rejoins_kept
        back += comebacks.rejoins_back
        first = comebacks.first_rejoin
        if first is not None and times and times[-1] >= first:
            ordered += 1
    return SecondChance(lapsed, kept + back, kept, back, ordered)


def waiting_room_figures(
    joined: int,
    admitted: int,
    longest: int,
    waits: Sequence[float],
    chance: SecondChance = NO_SECOND_CHANCE,
) -> WaitingRoomFigures:
    """The figures from the room's counts and each admitted ticket's wait."""
    ordered = sorted(waits)

    def quantile(q: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 3)

    return WaitingRoomFigures(
        joined=joined,
        admitted=admitted,
        longest_queue=longest,
        wait_p50_seconds=quantile(0.5),
        wait_p99_seconds=quantile(0.99),
        wait_max_seconds=round(ordered[-1], 3) if ordered else None,
        second_chance=chance,
    )
