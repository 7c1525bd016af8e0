"""The arrival curve: monotone, through every milestone, exact per segment, drawn faithfully."""

from __future__ import annotations

import bisect
import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchday.sim.curve import (
    MonotoneCurve,
    draw_arrivals,
    draw_lock_times,
    milestone_curve,
    monotone_curve,
    sample_segment,
    segment_counts,
)
from launchday.sim.scenario import Milestone, scaled_milestones
from launchday.sim.scenario_file import load_scenario

# Dvoretzky–Kiefer–Wolfowitz: P(sup |F_n - F| > eps) <= 2 exp(-2 n eps^2). At this alpha a
# correct sampler fails a check about once in a billion runs.
ALPHA = 1e-9


@st.composite
def milestone_lists(draw: st.DrawFn, max_rise: int = 3000) -> list[Milestone]:
    """Strictly later times and non-decreasing whole counts, flat stretches included."""
    gaps = draw(
        st.lists(
            st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False),
            min_size=1,
            max_size=8,
        )
    )
    rises = draw(
        st.lists(
            st.integers(min_value=0, max_value=max_rise), min_size=len(gaps), max_size=len(gaps)
        )
    )
    out: list[Milestone] = []
    at, total = 0.0, 0
    for gap, rise in zip(gaps, rises, strict=True):
        at, total = at + gap, total + rise
        out.append(Milestone(at, total, "assumed"))
    return out


def grid(curve: MonotoneCurve, per_segment: int = 64) -> list[float]:
    """Points across every segment, knots included, in order."""
    xs: list[float] = []
    for k in range(curve.segments):
        x0, x1 = curve.xs[k], curve.xs[k + 1]
        xs.extend(x0 + (x1 - x0) * i / per_segment for i in range(per_segment))
    xs.append(curve.xs[-1])
    return xs


def tolerance(curve: MonotoneCurve) -> float:
    return 1e-9 * max(1.0, curve.ys[-1])


# --- the curve --------------------------------------------------------------------------------


@given(milestone_lists())
def test_the_curve_is_monotone(milestones: list[Milestone]) -> None:
    curve = milestone_curve(milestones)
    values = [curve.value(x) for x in grid(curve)]
    assert all(b >= a - tolerance(curve) for a, b in itertools.pairwise(values))
    assert all(curve.rate(x) >= -tolerance(curve) for x in grid(curve, 16))


@given(milestone_lists())
def test_the_curve_passes_through_opening_and_every_milestone(milestones: list[Milestone]) -> None:
    curve = milestone_curve(milestones)
    assert curve.value(0.0) == 0.0
    for m in milestones:
        assert curve.value(m.after_seconds) == pytest.approx(m.orders, abs=tolerance(curve))


@given(milestone_lists())
def test_the_curve_never_overshoots_a_segment(milestones: list[Milestone]) -> None:
    curve = milestone_curve(milestones)
    for k in range(curve.segments):
        x0, x1 = curve.xs[k], curve.xs[k + 1]
        for i in range(1, 32):
            y = curve.value(x0 + (x1 - x0) * i / 32)
            assert curve.ys[k] - tolerance(curve) <= y <= curve.ys[k + 1] + tolerance(curve)


def test_a_flat_stretch_stays_flat() -> None:
    curve = milestone_curve(
        [Milestone(10, 100, "assumed"), Milestone(20, 100, "assumed"), Milestone(30, 150, "x")]
    )
    assert all(curve.value(10 + i / 10) == 100 for i in range(101))
    assert curve.rate(15) == 0


def test_the_curve_is_flat_after_the_last_milestone() -> None:
    curve = milestone_curve([Milestone(60, 1000, "assumed")])
    assert curve.value(1e9) == 1000
    assert curve.rate(61) == 0


def test_the_yu7_curve_opens_near_the_derived_peak_of_7000_a_second() -> None:
    curve = milestone_curve(load_scenario("yu7-2025").milestones)
    assert 6000 < curve.rate(0) < 7500
    # ...and decays from there: the first minute is the steepest.
    rates = [curve.rate(x) for x in (0, 10, 30, 60, 120, 600, 3600)]
    assert rates == sorted(rates, reverse=True)


def test_time_of_inverts_value_inside_a_segment() -> None:
    curve = milestone_curve(load_scenario("yu7-2025").milestones)
    for y in (1.0, 30_000.0, 59_999.0):
        assert curve.value(curve.time_of(0, y)) == pytest.approx(y, abs=1e-6)


@pytest.mark.parametrize(
    "points",
    [[], [(0, 0), (0, 1)], [(0, 0), (1, 5), (2, 4)], [(0, 0), (math.inf, 1)]],
)
def test_bad_points_are_refused(points: list[tuple[float, float]]) -> None:
    with pytest.raises(ValueError, match="curve"):
        monotone_curve(points)


# --- arrivals ---------------------------------------------------------------------------------


@given(milestone_lists(), st.integers(min_value=0, max_value=2**32))
@settings(deadline=None)
def test_segment_counts_are_exact(milestones: list[Milestone], seed: int) -> None:
    arrivals = draw_arrivals(milestones, random.Random(seed))
    assert arrivals == sorted(arrivals)
    assert len(arrivals) == milestones[-1].orders
    assert all(0 < t <= milestones[-1].after_seconds for t in arrivals)
    # The count of arrivals in (0, t_k] is the milestone's count, at every milestone.
    for m in milestones:
        assert bisect.bisect_right(arrivals, m.after_seconds) == m.orders


@given(milestone_lists(), st.integers(min_value=0, max_value=2**32))
@settings(deadline=None)
def test_the_same_seed_draws_the_same_arrivals(milestones: list[Milestone], seed: int) -> None:
    assert draw_arrivals(milestones, random.Random(seed)) == draw_arrivals(
        milestones, random.Random(seed)
    )


def ks_distance(curve: MonotoneCurve, segment: int, times: list[float]) -> float:
    """Kolmogorov–Smirnov distance of the times from the curve restricted to the segment."""
    y0, y1 = curve.ys[segment], curve.ys[segment + 1]
    n = len(times)
    worst = 0.0
    for i, t in enumerate(times, start=1):
        model = (curve.value(t) - y0) / (y1 - y0)
        worst = max(worst, abs(i / n - model), abs((i - 1) / n - model))
    return worst


@given(milestone_lists(max_rise=5000), st.integers(min_value=0, max_value=2**32))
@settings(deadline=None, max_examples=50)
def test_arrivals_inside_a_segment_follow_the_curve(milestones: list[Milestone], seed: int) -> None:
    curve = milestone_curve(milestones)
    arrivals = draw_arrivals(milestones, random.Random(seed))
    start = 0
    for k, count in enumerate(segment_counts(milestones)):
        times = arrivals[start : start + count]
        start += count
        if count < 50:
            continue
        bound = math.sqrt(math.log(2 / ALPHA) / (2 * count))
        assert ks_distance(curve, k, times) <= bound


def test_the_empirical_curve_converges_to_the_curve() -> None:
    yu7 = load_scenario("yu7-2025")
    distances = []
    for scale in (0.001, 0.01, 0.1):
        milestones = scaled_milestones(yu7, scale)
        arrivals = draw_arrivals(milestones, random.Random(2025))
        curve = milestone_curve(milestones)
        total = milestones[-1].orders
        # Largest gap, as a share of all orders, between arrivals so far and the curve...
        distance = max(abs(i - curve.value(t)) for i, t in enumerate(arrivals, 1)) / total
        # ...within what DKW allows for the largest segment (the others are exact at the ends).
        largest = max(segment_counts(milestones))
        assert distance <= math.sqrt(largest * math.log(2 / ALPHA) / 2) / total
        distances.append(distance)
    # Ten times the orders, about a third of the gap: the 1/sqrt(n) of sampling.
    assert distances[0] > distances[1] > distances[2]
    assert distances[2] < 0.01


def test_a_flat_segment_gets_no_arrivals() -> None:
    milestones = [Milestone(10, 50, "a"), Milestone(20, 50, "a"), Milestone(30, 80, "a")]
    arrivals = draw_arrivals(milestones, random.Random(1))
    assert not [t for t in arrivals if 10 < t <= 20]


def test_lock_times_follow_a_given_count_per_segment() -> None:
    locks = [Milestone(120, 1280, "reported"), Milestone(64_800, 2400, "reported")]
    times = draw_lock_times(locks, random.Random(3), counts=[1000, 5])
    assert len(times) == 1005
    assert bisect.bisect_right(times, 120) == 1000
    assert times == sorted(times)


def test_a_flat_segment_asked_for_times_spreads_them_evenly() -> None:
    curve = milestone_curve([Milestone(10, 50, "a"), Milestone(20, 50, "a")])
    times = sample_segment(curve, 1, 1000, random.Random(9))
    assert all(10 < t <= 20 for t in times)
    assert 14 < sum(times) / len(times) < 16


@pytest.mark.parametrize(
    "milestones",
    [
        [Milestone(10, 5, "a"), Milestone(10, 6, "a")],
        [Milestone(10, 5, "a"), Milestone(20, 4, "a")],
        [Milestone(0, 0, "a")],
        [Milestone(10, -1, "a")],
    ],
)
def test_bad_milestones_are_refused(milestones: list[Milestone]) -> None:
    with pytest.raises(ValueError, match=r"curve|milestone"):
        draw_arrivals(milestones, random.Random(0))
