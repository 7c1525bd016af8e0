"""The build schedule: the week each queued order's car is built in, on which line, and
what set that week. A pure function of (plan, queue, current week); the rules, with a
worked example, are in docs/delivery.md:

1. The queue order is `BuildQueue.ranked`. Weeks before the current one are past.
2. A car's parts come in queue order (`launchday.domain.parts`).
3. Each week, going down the queue, every order that has locked (a reserved order counts
   from its window's end) and whose parts are there is built on the first of its lines
   with room; one that cannot be is passed over this week and holds back nobody behind.

Orders of one variant are alike, so each variant's orders are built in queue order and
become ready in queue order. A week is then worked out with a few searches over each
variant's positions rather than a step per order: the walk down the queue only changes
course when a line fills (see `_fill_week`), which makes a million orders cheap.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from launchday.domain.build_queue import BuildQueue, micros
from launchday.domain.parts import NEVER, PartsReady, parts_ready
from launchday.domain.production_plan import ProductionPlan, rate_in

Ints = NDArray[np.int64]
# How far ahead a schedule looks: ten years of weeks, beyond any car's delivery.
HORIZON_WEEKS = 520
# What set an order's build week (`Schedule.set_by`).
BY_LINE, BY_COMPONENT = 0, 1


@dataclass(frozen=True, slots=True)
class Built:
    """Cars of one variant built in one week on one line, in queue order."""

    week: int
    line: int
    count: int


@dataclass(frozen=True, slots=True)
class Schedule:
    """Per order, indexed as the queue: `week` built (NEVER past the horizon), `line`
    (index into the plan's lines, -1 if never), `position` in the queue (1-based),
    `set_by` (BY_LINE or BY_COMPONENT) with the component and supplier indexes (-1 when
    not set by a component, or for a unit from stock)."""

    plan: ProductionPlan
    queue: BuildQueue
    start: int
    end: int
    ranked: Ints
    week: Ints
    line: Ints
    position: Ints
    set_by: Ints
    component: Ints
    supplier: Ints
    released: Ints
    parts: PartsReady
    # For questions about orders not in the queue (`launchday.domain.delivery_promise`):
    # each variant's queue positions and what was built of it, in queue order.
    positions_by_sku: tuple[list[int], ...]
    built_by_sku: tuple[tuple[Built, ...], ...]
    # The queue's keys in queue order, to find a new key's place by binary search: the
    # priority class and lock time in one number (the class above any time), then the
    # sequence.
    class_and_lock: Ints
    sequence_ranked: Ints


def week_bounds(plan: ProductionPlan, start: int, end: int) -> Ints:
    """The instant (microseconds) each week from `start` to `end` begins, in UTC."""
    zone = ZoneInfo(plan.timezone)
    return np.array(
        [
            micros(datetime.combine(plan.week_start(week), time(0), zone))
            for week in range(start, end + 1)
        ],
        dtype=np.int64,
    )


def release_weeks(plan: ProductionPlan, locks_at: Ints, start: int, end: int) -> Ints:
    """The week each order locks in, never before `start` (NEVER past the horizon)."""
    bounds = week_bounds(plan, start, end)
    week = start - 1 + np.searchsorted(bounds, locks_at, side="right")
    week = np.maximum(week, start)
    return np.where(week >= end, NEVER, week).astype(np.int64)


CLASS_STEP = 1 << 61  # above any lock time in microseconds (year 9000 is about 2^58)


def class_and_lock(queue: BuildQueue, plan: ProductionPlan) -> Ints:
    """Each order's priority class and lock time as one sortable number."""
    return queue.priority_class(plan.priority_skus) * CLASS_STEP + queue.locks_at


def schedule(plan: ProductionPlan, queue: BuildQueue, current_week: int) -> Schedule:
    """Build weeks for every order in `queue` from `current_week` on."""
    start, end = current_week, current_week + HORIZON_WEEKS
    ranked = queue.ranked(plan.priority_skus)
    position = np.empty(len(queue), dtype=np.int64)
    position[ranked] = np.arange(1, len(queue) + 1, dtype=np.int64)
    parts = parts_ready(plan, queue.skus, queue.sku, ranked, start, end)
    released = release_weeks(plan, queue.locks_at, start, end)
    ready = np.maximum(released, parts.week)

    positions_by_sku: list[list[int]] = []
    ready_by_sku: list[list[int]] = []
    for index in range(len(queue.skus)):
        mine = np.flatnonzero(queue.sku[ranked] == index)
        positions_by_sku.append(mine.tolist())
        ready_by_sku.append(ready[ranked[mine]].tolist())
    lines_by_sku = [
        [i for i, line in enumerate(plan.lines) if sku in line.skus] for sku in queue.skus
    ]
    built = _build(plan, positions_by_sku, ready_by_sku, lines_by_sku, start, end)

    week = np.full(len(queue), NEVER, dtype=np.int64)
    line = np.full(len(queue), -1, dtype=np.int64)
    for index, runs in enumerate(built):
        if runs:
            counts = [run.count for run in runs]
            done = ranked[positions_by_sku[index][: sum(counts)]]
            week[done] = np.repeat([run.week for run in runs], counts)
            line[done] = np.repeat([run.line for run in runs], counts)
    by_parts = (week < NEVER) & (week == parts.week) & (parts.week > released)
    never_parts = (week == NEVER) & (parts.week == NEVER)
    set_by = np.where(by_parts | never_parts, BY_COMPONENT, BY_LINE).astype(np.int64)
    component = np.where(set_by == BY_COMPONENT, parts.component, -1)
    supplier = _suppliers(parts, by_parts, component, week, position)
    return Schedule(
        plan, queue, start, end, ranked, week, line, position, set_by, component, supplier,
        released, parts, tuple(positions_by_sku), tuple(tuple(runs) for runs in built),
        class_and_lock(queue, plan)[ranked], queue.sequence[ranked],
    )  # fmt: skip


def _suppliers(
    parts: PartsReady, by_parts: NDArray[np.bool_], component: Ints, week: Ints, position: Ints
) -> Ints:
    """For orders whose week the arrival of a part sets: who delivered that part."""
    supplier = np.full(len(week), -1, dtype=np.int64)
    for index, demand in enumerate(parts.demands):
        orders = np.flatnonzero(by_parts & (component == index))
        if len(orders):
            users_ahead = np.searchsorted(demand.positions, position[orders] - 1)
            unit = demand.needed_by[users_ahead]
            supplier[orders] = demand.supply.supplier_of(week[orders], unit)
    return supplier


def _build(
    plan: ProductionPlan,
    positions: list[list[int]],
    ready: list[list[int]],
    lines: list[list[int]],
    start: int,
    end: int,
) -> list[list[Built]]:
    """What each variant builds week by week; positions and ready weeks in queue order."""
    built: list[list[Built]] = [[] for _ in positions]
    done = [0] * len(positions)
    capacity = [[rate_in(line.capacity, week) for week in range(start, end)] for line in plan.lines]
    week = start
    while week < end:
        waiting = [s for s in range(len(positions)) if done[s] < len(positions[s])]
        if not waiting:
            break
        ready_now = [bisect_right(ready[s], week) for s in range(len(positions))]
        if all(ready_now[s] <= done[s] for s in waiting):
            week = min(ready[s][done[s]] for s in waiting)  # nothing to build until then
            continue
        room = [capacity[line][week - start] for line in range(len(plan.lines))]
        _fill_week(positions, ready_now, lines, done, room, week, built)
        week += 1
    return built


def _fill_week(
    positions: list[list[int]],
    ready_now: list[int],
    lines: list[list[int]],
    done: list[int],
    room: list[int],
    week: int,
    built: list[list[Built]],
) -> None:
    """One week's walk down the queue. Each variant builds on the first of its lines with
    room; between two moments a line fills, every ready order of a variant with a line is
    built, so the walk finds the queue position where the next line fills (a binary
    search), builds everything before it, moves the variants on that line to their next
    line, and goes on."""
    on_line = [_first_with_room(lines[s], room) for s in range(len(positions))]
    while True:
        active = [s for s in range(len(positions)) if on_line[s] >= 0 and done[s] < ready_now[s]]
        if not active:
            return

        def taken(before: int, active: list[int] = active) -> dict[int, int]:
            """How many of each active variant's ready orders are ahead of `before`."""
            return {
                s: bisect_left(positions[s], before, done[s], ready_now[s]) - done[s]
                for s in active
            }

        high = max(positions[s][ready_now[s] - 1] for s in active) + 1
        if not _fits(taken(high), on_line, room):
            low = min(positions[s][done[s]] for s in active)  # nothing ahead of it: fits
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if _fits(taken(middle), on_line, room) else (low, middle)
            high = low
        for s, count in taken(high).items():
            if count:
                built[s].append(Built(week, on_line[s], count))
                done[s] += count
                room[on_line[s]] -= count
        for s in active:
            if room[on_line[s]] == 0:
                on_line[s] = _first_with_room(lines[s], room)


def _fits(counts: dict[int, int], on_line: list[int], room: list[int]) -> bool:
    """Whether building `counts` of each variant on its current line leaves no line over."""
    use = [0] * len(room)
    for s, count in counts.items():
        use[on_line[s]] += count
    return all(used <= left for used, left in zip(use, room, strict=True))


def _first_with_room(lines: list[int], room: list[int]) -> int:
    return next((line for line in lines if room[line] > 0), -1)
