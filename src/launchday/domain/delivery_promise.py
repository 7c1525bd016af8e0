"""The delivery promise: from a schedule's build week to the window a buyer is told.

A car built in week `b` is delivered in week `b + delivery_lag_weeks`; the promise is
the `window_weeks` from that week's first day, counted in whole weeks after the order
was placed. An order's week depends only on the orders ahead of it in the queue, so
the promise of an order not in the queue (a new order, or a reserved one if it locked
now) is worked out from the schedule of the others without building it again.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from launchday.domain.build_queue import micros
from launchday.domain.build_schedule import BY_COMPONENT, CLASS_STEP, Schedule
from launchday.domain.parts import NEVER
from launchday.domain.production_plan import ProductionPlan, rate_in

WEEK = timedelta(days=7)


class SetBy(NamedTuple):
    """What sets the build week: the `line` it waits for, or the `component` (and the
    supplier whose delivery it waits for; None for a unit from stock)."""

    kind: str
    id: str
    supplier: str | None = None


class Promise(NamedTuple):
    """`weeks` None when the car cannot be built within the schedule's horizon. (A named
    tuple, not a dataclass: one is made for every order placed, and a tuple is made in a
    third of the time.)"""

    build_week: int | None
    weeks: tuple[int, int] | None
    first_day: date | None
    last_day: date | None
    queue_position: int
    set_by: SetBy


def promise_of(schedule: Schedule, order: int, placed_at: datetime) -> Promise:
    """The promise to the order at index `order` of the schedule's queue."""
    plan = schedule.plan
    week = int(schedule.week[order])
    if schedule.set_by[order] == BY_COMPONENT:
        component = plan.components[int(schedule.component[order])]
        supplier = int(schedule.supplier[order])
        name = component.suppliers[supplier].id if supplier >= 0 else None
        set_by = SetBy("component", component.id, name)
    else:
        line = int(schedule.line[order])
        sku = schedule.queue.skus[int(schedule.queue.sku[order])]
        set_by = SetBy("line", plan.lines[line].id if line >= 0 else plan.lines_for(sku)[0].id)
    return make_promise(plan, week, placed_at, int(schedule.position[order]), set_by)


def promise_if_placed(
    schedule: Schedule, sku: str, locks_at: datetime, placed_at: datetime, sequence: int = -1
) -> Promise:
    """The promise an order of `sku` locking at `locks_at` would get, the queue's orders
    staying where they are. `sequence` -1 puts it behind any order locking at the same
    moment, as a new order would be."""
    plan, queue = schedule.plan, schedule.queue
    sku_index = queue.skus.index(sku)
    ahead = _orders_ahead(schedule, order_key(plan, sku, locks_at, sequence))
    released = release_week(schedule, locks_at)
    parts_week, set_by = released, SetBy("line", plan.lines_for(sku)[0].id)
    for component, count in plan.components_for(sku):
        demand = schedule.parts.demands[plan.components.index(component)]
        unit = np.array([demand.needed_ahead_of(ahead) + count])
        arrives = int(demand.supply.week_with(unit)[0])
        if arrives > parts_week:
            parts_week = arrives
            supplier = (
                int(demand.supply.supplier_of(np.array([arrives]), unit)[0])
                if arrives < NEVER
                else -1
            )
            name = component.suppliers[supplier].id if supplier >= 0 else None
            set_by = SetBy("component", component.id, name)
    week, line = _first_room(schedule, sku_index, ahead, parts_week)
    if week != parts_week or parts_week == released:
        set_by = SetBy("line", line)
    return make_promise(plan, week, placed_at, ahead + 1, set_by)


def order_key(
    plan: ProductionPlan, sku: str, locks_at: datetime, sequence: int
) -> tuple[int, int, int]:
    """An order's place in the queue as a comparable key (sequence -1: behind every order
    locking at the same moment)."""
    first = 0 if sku in plan.priority_skus else 1
    return (first, micros(locks_at), sequence if sequence >= 0 else NEVER)


def release_week(schedule: Schedule, locks_at: datetime) -> int:
    """The week an order locking at `locks_at` may be built from (as `release_weeks`)."""
    week = max(schedule.plan.week_of(locks_at), schedule.start)
    return week if week < schedule.end else NEVER


def _orders_ahead(schedule: Schedule, key: tuple[int, int, int]) -> int:
    """How many queued orders come before an order with this (class, lock, sequence)."""
    wanted = key[0] * CLASS_STEP + key[1]
    keys = schedule.class_and_lock
    low = int(np.searchsorted(keys, wanted, side="left"))
    high = int(np.searchsorted(keys, wanted, side="right"))
    if low == high:
        return low
    # Orders locking at the same moment: by sequence.
    return low + int(np.searchsorted(schedule.sequence_ranked[low:high], key[2], side="left"))


def _first_room(schedule: Schedule, sku: int, ahead: int, ready: int) -> tuple[int, str]:
    """The first week from `ready` with room on a line of `sku` once the `ahead` orders
    in front are built, and that line's id (NEVER and the first line if none has)."""
    plan = schedule.plan
    used: Counter[tuple[int, int]] = Counter()
    for index, runs in enumerate(schedule.built_by_sku):
        left = bisect_left(schedule.positions_by_sku[index], ahead)
        for run in runs:
            if left <= 0:
                break
            used[run.line, run.week] += min(run.count, left)
            left -= run.count
    lines = [i for i, line in enumerate(plan.lines) if schedule.queue.skus[sku] in line.skus]
    for week in range(max(ready, schedule.start), schedule.end):
        for line in lines:
            if rate_in(plan.lines[line].capacity, week) > used[line, week]:
                return week, plan.lines[line].id
    return NEVER, plan.lines[lines[0]].id


def make_promise(
    plan: ProductionPlan, week: int, placed_at: datetime, position: int, set_by: SetBy
) -> Promise:
    if week >= NEVER:
        return Promise(None, None, None, None, position, set_by)
    window = _window(
        plan.weeks_start,
        plan.delivery_lag_weeks,
        plan.window_weeks,
        week,
        plan.local_date(placed_at),
    )
    return Promise(week, window[2], window[0], window[1], position, set_by)


@lru_cache(maxsize=4096)
def _window(
    weeks_start: date, lag: int, width: int, week: int, placed_on: date
) -> tuple[date, date, tuple[int, int]]:
    """The first and last day of the window of a car built in `week`, and its weeks after
    a placement on `placed_on`: the same for the many orders of a burst."""
    first_day = weeks_start + (week + lag) * WEEK
    earliest = max(0, (first_day - placed_on).days // 7)
    return first_day, first_day + width * WEEK, (earliest, earliest + width)


def promised_weeks(schedule: Schedule, placed_at_us: NDArray[np.int64]) -> NDArray[np.int64]:
    """Per order (as the queue), the first promised week after its placement (`weeks[0]`;
    -1 past the horizon), for the whole queue at once: what a re-promise compares."""
    plan = schedule.plan
    zone = ZoneInfo(plan.timezone)
    # A zone's offset changes on the hour at most: work it out once per hour placed in.
    hours = placed_at_us // 3_600_000_000
    distinct, where = np.unique(hours, return_inverse=True)
    offsets = np.array(
        [
            int(datetime.fromtimestamp(int(h) * 3600, zone).utcoffset().total_seconds())  # type: ignore[union-attr]
            for h in distinct
        ],
        dtype=np.int64,
    )
    local_day = (placed_at_us // 1_000_000 + offsets[where]) // 86_400
    epoch_day = date(1970, 1, 1).toordinal()
    first_day = (
        plan.weeks_start.toordinal() - epoch_day + 7 * (schedule.week + plan.delivery_lag_weeks)
    )
    weeks = np.maximum((first_day - local_day) // 7, 0)
    return np.where(schedule.week < NEVER, weeks, -1)
