"""How closely a replay met its scenario's milestones: each scenario figure (times scale)
beside what the server stored by then, within what sampling and timing allow.

Two things part a stored count from the scenario's. The replay draws each order's time
from the scenario's curve, so a milestone holds a few orders more or fewer by chance
(TOLERANCE_SHARE, or TOLERANCE_ORDERS for small counts). And the server stamps an order
when it arrives, which the replay can only aim at: an order stamped r launch seconds
after its time crosses a milestone the wrong way when it was due less than r before it.
How far the stamps stray is measured, not assumed: the driver keeps each order's
displacement (its stamp less its time), and a milestone allows the orders the scenario
schedules within the largest displacement of the orders due near it, late ones before
the milestone and early ones after it. A buyer's journey through a waiting room (join,
poll, order) takes about 17 ms on two shared cores and varies by as much, so the window
is at least RESOLUTION_REAL_SECONDS of real time (times the speed: 48 launch seconds at
x2400, a second at x60); a machine that holds a request longer (a slow disk's sync, a
busy core) widens it where it did so, but never past MAX_RESOLUTION_REAL_SECONDS: a
replay whose stamps stray further than that has not replayed the scenario's shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from launchday.sim.curve import MonotoneCurve, milestone_curve
from launchday.sim.scenario import Milestone, Scenario, scaled_locks, scaled_milestones

TOLERANCE_SHARE = 0.05
TOLERANCE_ORDERS = 3
RESOLUTION_REAL_SECONDS = 0.02
MAX_RESOLUTION_REAL_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class MilestoneCheck:
    """A scenario figure (times scale) beside what the replay stored."""

    kind: str  # "orders" or "locked"
    after_seconds: float
    expected: int
    replayed: int
    resolution: int = 0  # orders the scenario schedules in the replay's time resolution

    @property
    def difference(self) -> int:
        return self.replayed - self.expected

    @property
    def within_tolerance(self) -> bool:
        allowed = max(TOLERANCE_SHARE * self.expected, TOLERANCE_ORDERS, self.resolution)
        return abs(self.difference) <= allowed


def stamp_windows(
    at: float, stamps: Iterable[tuple[float, float]], floor: float, cap: float
) -> tuple[float, float]:
    """How far stamps strayed around launch second `at`, in launch seconds: the latest
    stamp of an order due in the `cap` before it and the earliest of one due in the
    `cap` after it, each between `floor` and `cap`. `stamps`: (due, stamp less due)."""
    late = early = floor
    for due, displacement in stamps:
        if at - cap <= due <= at:
            late = max(late, displacement)
        elif at < due <= at + cap:
            early = max(early, -displacement)
    return min(late, cap), min(early, cap)


def resolution_at(
    curve: MonotoneCurve, at: float, stamps: Sequence[tuple[float, float]], speed: float
) -> int:
    """The orders the scenario schedules within the stamps' measured reach of `at`."""
    floor, cap = RESOLUTION_REAL_SECONDS * speed, MAX_RESOLUTION_REAL_SECONDS * speed
    late, early = stamp_windows(at, stamps, floor, cap)
    before = curve.value(at) - curve.value(max(0.0, at - late))
    after = curve.value(at + early) - curve.value(at)
    return round(max(before, after))


def milestone_checks(
    scenario: Scenario,
    report: dict[str, Any],
    *,
    scale: float,
    speed: float,
    until: float,
    stamps: Sequence[tuple[float, float]] = (),
) -> list[MilestoneCheck]:
    """Each reached scenario milestone (times scale) beside the stored figure at that time.

    `stamps`: each order's time and its stamp less that time, in launch seconds; without
    them a milestone allows the least window, RESOLUTION_REAL_SECONDS times `speed`.
    """
    stored = {round(m["after_seconds"]): m for m in report["milestones"]}
    checks = []
    series: list[tuple[str, tuple[Milestone, ...]]] = [
        ("orders", scaled_milestones(scenario, scale)),
        ("locked", scaled_locks(scenario, scale)),
    ]
    for kind, milestones in series:
        curve = milestone_curve(milestones) if milestones else None
        for milestone in milestones:
            at = stored.get(round(milestone.after_seconds))
            if milestone.after_seconds > until or at is None:
                continue
            t = milestone.after_seconds
            assert curve is not None
            # Locks are stamped by the server too, but only orders' stamps are kept.
            resolution = resolution_at(curve, t, stamps if kind == "orders" else (), speed)
            checks.append(MilestoneCheck(kind, t, milestone.orders, at[kind], resolution))
    return checks
