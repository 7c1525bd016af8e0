"""A rehearsal's waiting room follows its scenario's curve, whatever the curve's shape.

Properties over generated milestone curves check the defaults (pre-queue, admission
rate, token lifetime, lapses) against the queue's own arithmetic; the queue model
itself is checked against the admission ledger the server uses; and options that
cannot meet a scenario are refused before anything starts, with a rate that works.
"""

from __future__ import annotations

import math
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchday.domain.admission import AdmissionLedger, AdmissionSchedule
from launchday.sim.admission_plan import (
    PRE_QUEUE_SECONDS,
    TOKEN_REAL_SECONDS,
    QueueModel,
    admission_shortfalls,
    minimum_admission_rate,
    order_times,
    plan_lapses,
    pre_queue_drained,
)
from launchday.sim.curve import milestone_curve
from launchday.sim.rehearsal import (
    FIRST_MILESTONE_REAL_SECONDS,
    TOLERANCE_ORDERS,
    TOLERANCE_SHARE,
    AdmissionTooSlow,
    RehearsalOptions,
    plan_options,
    plan_rehearsal,
)
from launchday.sim.scenario import (
    Milestone,
    Scenario,
    ScenarioDeposit,
    ScenarioVariant,
    scaled_milestones,
)
from launchday.sim.scenario_file import load_scenario

SCENARIOS = Path(__file__).parent / "scenarios"
OPENS = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)


def scenario_of(milestones: list[Milestone], *, limited: int | None = None) -> Scenario:
    variants = [ScenarioVariant("S-A", "A", 40000, 0.7), ScenarioVariant("S-B", "B", 50000, 0.3)]
    if limited is not None:
        variants = [*variants[:1], ScenarioVariant("S-L", "L", 90000, 0.3, stock=limited)]
    return Scenario(
        file="<generated>",
        slug="generated",
        name="Generated",
        currency="EUR",
        opens_at=OPENS,
        per_customer_limit=1,
        deposit=ScenarioDeposit(500, 168),
        variants=tuple(variants),
        milestones=tuple(milestones),
    )


# Milestone times from seconds to weeks, and counts that rise (or stay flat) by any amount.
@st.composite
def milestone_curves(draw: st.DrawFn) -> list[Milestone]:
    count = draw(st.integers(min_value=1, max_value=6))
    times = sorted(
        draw(
            st.sets(
                st.integers(min_value=10, max_value=14 * 86_400), min_size=count, max_size=count
            )
        )
    )
    rises = draw(
        st.lists(st.integers(min_value=0, max_value=6_000), min_size=count, max_size=count)
    )
    if sum(rises) == 0:
        rises[-1] = draw(st.integers(min_value=1, max_value=50))
    total = 0
    milestones = []
    for at, rise in zip(times, rises, strict=True):
        total += rise
        milestones.append(Milestone(float(at), total, "assumed"))
    return milestones


@settings(max_examples=40, deadline=None)
@given(milestones=milestone_curves(), seed=st.integers(min_value=1, max_value=1000))
def test_the_defaults_meet_every_milestone_of_any_curve_through_the_waiting_room(
    milestones: list[Milestone], seed: int
) -> None:
    scenario = scenario_of(milestones)
    options = plan_options(scenario, waiting_room=True, seed=seed)
    plan = plan_rehearsal(options)  # raises AdmissionTooSlow if the rate cannot keep up
    rate = options.admission_rate
    assert rate is not None
    # The first milestone leaves the pre-queue time to go through, in real seconds too.
    first = milestones[0].after_seconds
    assert options.pre_queue_seconds == min(first, PRE_QUEUE_SECONDS)
    assert first / options.speed >= FIRST_MILESTONE_REAL_SECONDS * (1 - 1e-9) or options.speed == 1
    # Tokens outlive a buyer's round trips at the rehearsal's speed.
    assert options.token_ttl_seconds >= min(TOKEN_REAL_SECONDS * options.speed, 31_622_400)
    assert options.token_ttl_seconds >= 900
    assert options.grace_seconds == options.token_ttl_seconds
    # The rate is twice the steepest stretch of the curve, times scale.
    peak = milestone_curve(scenario.milestones).peak_rate() * options.scale
    assert rate >= 2 * peak
    assert rate >= 1.0
    buyers = [(e.customer.id, e.at) for e in plan.events if e.kind == "order"]
    room = QueueModel(
        options.pre_queue_seconds, options.token_ttl_seconds, options.grace_seconds, plan.lapses
    )
    # The queue alone, without the load driver's early start of each journey (which
    # makes up for the 1/rate a place takes), still meets every milestone.
    tolerance = (TOLERANCE_SHARE, TOLERANCE_ORDERS)
    assert admission_shortfalls(buyers, plan_milestones(options), room, rate, tolerance) == []
    late = sorted(order_times(buyers, room, rate))
    on_time = sorted(at for _, at in buyers)
    # ...and nobody after the pre-queue waits longer than the queue's own arithmetic says.
    assert all(
        got >= want - 1e-9 or want <= options.pre_queue_seconds
        for got, want in zip(late, on_time, strict=True)
    )
    # Lapsing buyers come back at the very time the scenario has them order, having
    # joined after the pre-queue went through.
    planned = dict(buyers)
    drained = pre_queue_drained(list(planned.values()), options.pre_queue_seconds, rate)
    for customer, lapse in plan.lapses.items():
        assert lapse.comeback_at == planned[customer]
        assert lapse.join_at >= max(options.pre_queue_seconds, drained)
        away = lapse.comeback_at - lapse.join_at
        assert away > options.token_ttl_seconds
        within = away < options.token_ttl_seconds + options.grace_seconds
        assert within == lapse.keeps_place
    assert len(plan.lapses) <= round(options.lapse_share * len(buyers))


def plan_milestones(options: RehearsalOptions) -> list[Milestone]:
    """The scenario's milestones times the rehearsal's scale, up to where it replays."""
    scaled = scaled_milestones(options.scenario, options.scale)
    return [m for m in scaled if m.after_seconds <= options.until]


@settings(max_examples=60, deadline=None)
@given(
    joins=st.lists(st.integers(min_value=1, max_value=600_000), min_size=1, max_size=60),
    rate=st.integers(min_value=1, max_value=400).map(lambda tenths: tenths / 10),
)
def test_the_queue_model_admits_as_the_servers_ledger_does(joins: list[int], rate: float) -> None:
    """Place k is admitted at max(its join, place k-1's admission) + 1/rate: the same
    times, to the microsecond, as launchday.domain.admission gives."""
    ledger = AdmissionLedger(AdmissionSchedule.starting(OPENS, rate))
    joined = sorted(ms / 1000 for ms in joins)
    for at in joined:
        ledger.join(OPENS + timedelta(seconds=at))
    buyers = [(f"c-{n}", at) for n, at in enumerate(joined)]
    model = sorted(order_times(buyers, QueueModel(0.0, 900, 900, {}), rate))
    for rank, at in enumerate(model, start=1):
        when = ledger.admitted_at(rank)
        assert when is not None
        # The ledger counts with a slack of a millionth of an admission (and whole
        # microseconds): that much time at the rate, and one microsecond.
        assert abs((when - OPENS).total_seconds() - at) <= 1e-6 / rate + 2e-6


def test_a_rate_too_low_is_refused_before_the_replay_with_a_rate_that_works() -> None:
    scenario = load_scenario(SCENARIOS / "half-day.toml")
    with pytest.raises(AdmissionTooSlow) as refused:
        plan_rehearsal(plan_options(scenario, admission_rate=0.02))
    message = str(refused.value)
    assert "0.02/s cannot meet this scenario" in message
    suggested = float(message.rsplit("--admission-rate ", 1)[1].split()[0])
    assert suggested > 0.02
    # The suggested rate passes; a rate a little under it would not have been suggested.
    plan = plan_rehearsal(plan_options(scenario, admission_rate=suggested))
    options = plan.options
    buyers = [(e.customer.id, e.at) for e in plan.events if e.kind == "order"]
    room = QueueModel(
        options.pre_queue_seconds, options.token_ttl_seconds, options.grace_seconds, plan.lapses
    )
    half = (TOLERANCE_SHARE / 2, TOLERANCE_ORDERS // 2)
    milestones = plan_milestones(options)
    assert admission_shortfalls(buyers, milestones, room, suggested, half) == []
    assert admission_shortfalls(buyers, milestones, room, suggested * 0.9, half) != []
    assert minimum_admission_rate(buyers, milestones, room, half) == suggested


def test_lapses_are_only_drawn_among_buyers_with_time_enough() -> None:
    buyers = [(f"c-{n}", float(n * 10)) for n in range(1000)]
    lapses = plan_lapses(
        buyers, 0.1, ttl=600, grace=600, not_before=120, rng=random.Random("lapses")
    )
    assert len(lapses) == 100
    assert {lapse.keeps_place for lapse in lapses.values()} == {True, False}
    assert all(lapse.join_at >= 120 for lapse in lapses.values())
    none = plan_lapses(buyers, 0.1, ttl=600, grace=0, not_before=0, rng=random.Random(1))
    assert none == {}  # with no grace there is no place to keep: nobody is planned to lapse


def test_the_demo_says_before_replaying_when_its_admission_rate_is_too_low(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "launchday",
            "demo",
            "--scenario",
            str(SCENARIOS / "half-day.toml"),
            "--admission-rate",
            "0.02",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "cannot meet this scenario" in done.stdout
    assert "--admission-rate" in done.stdout
    assert not (tmp_path / "launchday.db").exists()  # nothing was started
    assert math.isfinite(float(done.stdout.rsplit("--admission-rate ", 1)[1].split()[0]))
