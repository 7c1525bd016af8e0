"""The build backlog: how many queued cars of each variant are due to be built in each
coming week, against the lines' capacity in those weeks.

Pure arithmetic over a schedule's columns (`launchday.domain.build_schedule.Schedule`):
one `bincount` over (variant, week) cells, whatever the length of the queue. The weeks
shown are a fixed horizon from the current week; every car due after it, or never built
within the schedule's own horizon, falls in one "later" bucket, so the bars always add
up to the whole queue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from launchday.domain.build_schedule import Schedule
from launchday.domain.production_plan import ProductionPlan, rate_in

Ints = NDArray[np.int64]
# Half a year of weeks: past that, a launch night's buyers are told "later" anyway.
HORIZON_WEEKS = 26


@dataclass(frozen=True, slots=True)
class Backlog:
    """`orders[v, k]` cars of variant `skus[v]` due in week `start + k` (k < weeks) and,
    in the last column, later; `capacity[k]` cars the lines can build in week `start + k`."""

    start: int
    skus: tuple[str, ...]
    orders: Ints
    capacity: Ints

    @property
    def weeks(self) -> int:
        return len(self.capacity)

    def later(self) -> Ints:
        """Per variant, the cars due after the horizon (or never built in the schedule's)."""
        return self.orders[:, -1]


def orders_by_week(week: Ints, sku: Ints, variants: int, start: int, weeks: int) -> Ints:
    """Counts per (variant, week offset) of orders due in `week` (plan weeks), the offset
    from `start`, with one more column for `weeks` and beyond. A week before `start`
    (none in a schedule, which begins at the current week) counts as the first."""
    offset = np.clip(week - start, 0, weeks)
    cells = sku * (weeks + 1) + offset
    counts = np.bincount(cells, minlength=variants * (weeks + 1))
    return counts.astype(np.int64).reshape(variants, weeks + 1)


def line_capacity(plan: ProductionPlan, start: int, weeks: int) -> Ints:
    """The cars all lines together can build in each week from `start` (a line's rate in
    force that week; nothing before its first rate)."""
    return np.array(
        [
            sum(rate_in(line.capacity, week) for line in plan.lines)
            for week in range(start, start + weeks)
        ],
        dtype=np.int64,
    )


def backlog(made: Schedule, weeks: int = HORIZON_WEEKS) -> Backlog:
    """The schedule's queue by build week and variant over `weeks` weeks from its start."""
    queue = made.queue
    orders = orders_by_week(made.week, queue.sku, len(queue.skus), made.start, weeks)
    return Backlog(made.start, queue.skus, orders, line_capacity(made.plan, made.start, weeks))
