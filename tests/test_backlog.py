"""The dashboard's backlog arithmetic (`launchday.analytics.backlog`) against figures
worked by hand: the queue by build week and variant, and the lines' capacity."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np

from launchday.analytics.backlog import backlog, line_capacity, orders_by_week
from launchday.domain.build_queue import BuildQueue
from launchday.domain.build_schedule import schedule
from launchday.domain.parts import NEVER
from launchday.domain.production_plan import Line, ProductionPlan, Rate

MONDAY = date(2026, 11, 23)
LOCKED = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # before week 0: ready from its start


def plan(*lines: Line) -> ProductionPlan:
    return ProductionPlan(MONDAY, "UTC", delivery_lag_weeks=2, window_weeks=3, lines=lines)


def one_line(per_week: int) -> ProductionPlan:
    return plan(Line("yz", ("STD", "MAX"), (Rate(0, per_week),)))


def queue(skus: list[str]) -> BuildQueue:
    """Locked orders in this order (sequence 1, 2, ...)."""
    return BuildQueue.of(("MAX", "STD"), [(sku, LOCKED, n) for n, sku in enumerate(skus, 1)])


def test_250_locked_orders_on_a_line_of_100_fill_two_weeks_and_half_the_third() -> None:
    # 150 STD then 100 MAX, in queue order: week 0 builds STD 1-100; week 1 STD 101-150
    # and MAX 1-50; week 2 MAX 51-100.
    made = schedule(one_line(100), queue(["STD"] * 150 + ["MAX"] * 100), current_week=0)
    found = backlog(made, weeks=4)
    assert found.start == 0
    assert found.skus == ("MAX", "STD")
    assert found.orders.tolist() == [
        [0, 50, 50, 0, 0],  # MAX, weeks 0-3, then later
        [100, 50, 0, 0, 0],  # STD
    ]
    assert found.capacity.tolist() == [100, 100, 100, 100]
    assert found.later().tolist() == [0, 0]
    assert int(found.orders.sum()) == 250


def test_alternating_orders_share_each_week_half_and_half() -> None:
    made = schedule(one_line(100), queue(["STD", "MAX"] * 125), current_week=0)
    found = backlog(made, weeks=3)
    assert found.orders.tolist() == [[50, 50, 25, 0], [50, 50, 25, 0]]


def test_cars_past_the_horizon_fall_in_the_later_bucket() -> None:
    # Two weeks shown of a line of 100: the 50 cars of week 2 are "later".
    made = schedule(one_line(100), queue(["STD"] * 150 + ["MAX"] * 100), current_week=0)
    found = backlog(made, weeks=2)
    assert found.orders.tolist() == [[0, 50, 50], [100, 50, 0]]
    assert found.later().tolist() == [50, 0]
    assert found.capacity.tolist() == [100, 100]


def test_the_backlog_starts_at_the_current_week() -> None:
    # Three weeks on, week 3 is the first: it builds what week 0 would have.
    made = schedule(one_line(100), queue(["STD"] * 250), current_week=3)
    found = backlog(made, weeks=3)
    assert found.start == 3
    assert found.orders.tolist() == [[0, 0, 0, 0], [100, 100, 50, 0]]


def test_capacity_sums_the_lines_rates_in_force_each_week() -> None:
    ramping = Line("a", ("STD",), (Rate(0, 50), Rate(2, 100), Rate(4, 0), Rate(5, 100)))
    second = Line("b", ("MAX",), (Rate(1, 20),))  # builds nothing before week 1
    assert line_capacity(plan(ramping, second), 0, 6).tolist() == [50, 70, 120, 120, 20, 120]
    assert line_capacity(plan(ramping, second), 3, 3).tolist() == [120, 20, 120]


def test_counts_by_week_put_weeks_beyond_the_horizon_and_never_in_the_last_column() -> None:
    week = np.array([5, 5, 6, 9, 20, NEVER, 6], dtype=np.int64)
    sku = np.array([0, 1, 1, 1, 0, 0, 1], dtype=np.int64)
    counts = orders_by_week(week, sku, variants=2, start=5, weeks=4)
    assert counts.tolist() == [[1, 0, 0, 0, 2], [1, 2, 0, 0, 1]]


def test_an_empty_queue_has_an_empty_backlog_and_the_capacity_still() -> None:
    made = schedule(one_line(100), queue([]), current_week=0)
    found = backlog(made, weeks=2)
    assert found.orders.tolist() == [[0, 0, 0], [0, 0, 0]]
    assert found.capacity.tolist() == [100, 100]


def test_a_reserved_order_counts_in_the_week_its_window_ends() -> None:
    # Locking a week and a day after week 0 begins: built in week 1 at the earliest.
    later = MONDAY + timedelta(days=8)
    locks = datetime(later.year, later.month, later.day, tzinfo=UTC)
    made = schedule(
        one_line(100),
        BuildQueue.of(("MAX", "STD"), [("STD", LOCKED, 1), ("MAX", locks, 2)]),
        current_week=0,
    )
    assert backlog(made, weeks=3).orders.tolist() == [[0, 1, 0, 0], [1, 0, 0, 0]]
