"""A replayed milestone is met within sampling and the replay's measured timing: the
SU7's launch at the demo's x2400 and 0.0068 scale (68 orders by 4 minutes, 136 by 7)."""

from __future__ import annotations

from launchday.sim.curve import milestone_curve
from launchday.sim.milestone_fidelity import (
    MAX_RESOLUTION_REAL_SECONDS,
    RESOLUTION_REAL_SECONDS,
    MilestoneCheck,
    milestone_checks,
    resolution_at,
    stamp_windows,
)
from launchday.sim.scenario import Milestone
from launchday.sim.scenario_file import load_scenario

SPEED = 2400.0
SCALE = 0.0068
MILESTONES = [Milestone(240, 68, "a"), Milestone(420, 136, "a"), Milestone(1620, 340, "a")]
CURVE = milestone_curve(MILESTONES)
FLOOR = RESOLUTION_REAL_SECONDS * SPEED  # 48 launch seconds
CAP = MAX_RESOLUTION_REAL_SECONDS * SPEED  # 240


def on_time(first: int, last: int, displacement: float = 0.0) -> list[tuple[float, float]]:
    """An order due every launch second from `first` to `last`, each stamped that late."""
    return [(float(due), displacement) for due in range(first, last + 1)]


def test_a_milestone_is_met_within_the_replays_time_resolution() -> None:
    # 13 short of 136 is more than 5% and 3 orders, but a replay at x2400 schedules 18
    # orders in the 20 ms of real time before the 7th minute: within its resolution.
    assert MilestoneCheck("orders", 420, 136, 123, resolution=18).within_tolerance
    assert not MilestoneCheck("orders", 420, 136, 123, resolution=9).within_tolerance
    assert not MilestoneCheck("orders", 420, 136, 123).within_tolerance


def test_stamps_on_time_leave_the_least_window() -> None:
    assert stamp_windows(420, on_time(0, 1000), FLOOR, CAP) == (FLOOR, FLOOR)
    least = round(CURVE.value(420) - CURVE.value(420 - FLOOR))
    assert resolution_at(CURVE, 420, on_time(0, 1000), SPEED) == least
    assert resolution_at(CURVE, 420, (), SPEED) == least


def test_a_stall_just_before_a_milestone_widens_it_by_what_it_held_back() -> None:
    # The server held the orders due in the 70 s before the 7th minute until after it
    # (a 30 ms stall at x2400): about 25 orders land after the milestone.
    stalled = on_time(0, 349) + [(float(due), 425.0 - due) for due in range(350, 421)]
    late, early = stamp_windows(420, stalled, FLOOR, CAP)
    assert (late, early) == (75.0, FLOOR)
    # The window reaches back as far as the latest stamp strayed (75 s), which covers
    # every order the stall held back (those due from 350 s on).
    window = resolution_at(CURVE, 420, stalled, SPEED)
    assert window == round(CURVE.value(420) - CURVE.value(420 - 75))
    held_back = round(CURVE.value(420) - CURVE.value(350))
    assert held_back <= window
    assert window > round(CURVE.value(420) - CURVE.value(420 - FLOOR))
    assert MilestoneCheck("orders", 420, 136, 136 - held_back, window).within_tolerance
    assert not MilestoneCheck("orders", 420, 136, 136 - held_back).within_tolerance
    # The same stall elsewhere leaves the milestone's window as it was.
    assert resolution_at(CURVE, 1620, stalled, SPEED) == resolution_at(CURVE, 1620, (), SPEED)


def test_early_stamps_after_a_milestone_widen_it_on_that_side() -> None:
    hurried = on_time(0, 420) + [(float(due), -60.0) for due in range(421, 600)]
    assert stamp_windows(420, hurried, FLOOR, CAP) == (FLOOR, 60.0)
    after = CURVE.value(480) - CURVE.value(420)
    assert resolution_at(CURVE, 420, hurried, SPEED) == round(after)


def test_no_stall_excuses_more_than_the_cap() -> None:
    # A replay whose orders were stamped ten launch minutes late has not kept the shape.
    late = on_time(0, 1000, displacement=600.0)
    assert stamp_windows(420, late, FLOOR, CAP) == (CAP, FLOOR)
    capped = round(CURVE.value(420) - CURVE.value(420 - CAP))
    assert resolution_at(CURVE, 420, late, SPEED) == capped
    stored = round(CURVE.value(420 - 600))
    assert not MilestoneCheck("orders", 420, 136, stored, capped).within_tolerance


def test_the_checks_read_the_stored_report_with_the_stamps() -> None:
    scenario = load_scenario("su7-2024")
    report = {
        "milestones": [
            {"after_seconds": 240, "orders": 69, "locked": 0},
            {"after_seconds": 420, "orders": 110, "locked": 0},
        ]
    }
    options = {"scale": SCALE, "speed": SPEED, "until": 86_400.0}
    on_schedule = milestone_checks(scenario, report, **options, stamps=on_time(0, 1000))
    assert [(c.after_seconds, c.expected, c.replayed) for c in on_schedule] == [
        (240, 68, 69),
        (420, 136, 110),
    ]
    assert [c.within_tolerance for c in on_schedule] == [True, False]
    # The same count after a stall of 80 launch seconds before the 7th minute is met.
    stalled = on_time(0, 339) + [(float(due), 421.0 - due) for due in range(340, 421)]
    met = milestone_checks(scenario, report, **options, stamps=stalled)
    assert [c.within_tolerance for c in met] == [True, True]
    assert met[1].resolution > on_schedule[1].resolution
