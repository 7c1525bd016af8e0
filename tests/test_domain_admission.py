"""The waiting room's arithmetic, pure: the rate schedule, the admission ledger, the
pre-queue shuffle and what a ticket reads.

Properties are checked against an independent model in exact arithmetic (Fractions):
times on a millisecond grid and rates in halves, so the exact count admitted is never
within the implementation's rounding slack of an integer without being one.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchday.domain.admission import (
    AdmissionLedger,
    AdmissionSchedule,
    RateChange,
    TicketState,
    shuffle_key,
    view_ticket,
)

OPENS = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
TTL = timedelta(seconds=900)


def at_ms(ms: int) -> datetime:
    return OPENS + timedelta(milliseconds=ms)


def secs(seconds: float) -> datetime:
    return OPENS + timedelta(seconds=seconds)


# --- strategies -------------------------------------------------------------------------

# Rates in halves per second, 0.5 to 5,000.
half_rates = st.integers(min_value=1, max_value=10_000).map(lambda halves: halves / 2)


@dataclass(frozen=True)
class Step:
    """One event after the opening: `joins` tickets, or a rate change, at `ms`."""

    ms: int
    joins: int = 0
    change: tuple[float, bool] | None = None  # (rate, paused)


@st.composite
def histories(
    draw: st.DrawFn, max_pre: int = 50, max_steps: int = 12
) -> tuple[float, int, list[Step]]:
    """An initial rate, a pre-queue size and a time-ordered list of joins and changes."""
    rate = draw(half_rates)
    pre = draw(st.integers(min_value=0, max_value=max_pre))
    gaps = draw(st.lists(st.integers(min_value=0, max_value=20_000), max_size=max_steps))
    steps = []
    ms = 0
    for gap in gaps:
        ms += gap
        if draw(st.booleans()):
            steps.append(Step(ms, joins=draw(st.integers(min_value=1, max_value=40))))
        else:
            steps.append(Step(ms, change=(draw(half_rates), draw(st.booleans()))))
    return rate, pre, steps


def build(rate: float, pre: int, steps: list[Step]) -> AdmissionLedger:
    ledger = AdmissionLedger(AdmissionSchedule.starting(OPENS, rate))
    for _ in range(pre):
        ledger.join(OPENS - timedelta(minutes=5))
    for step in steps:
        if step.change is not None:
            ledger.change(RateChange(at_ms(step.ms), *step.change))
        for _ in range(step.joins):
            ledger.join(at_ms(step.ms))
    return ledger


class FluidModel:
    """The reference: in exact arithmetic, admission runs at the rate in force, never
    past the tickets ranked so far; capacity not used is lost."""

    def __init__(self, rate: float, pre: int, steps: list[Step]) -> None:
        self.pre = pre
        self.steps = steps
        # (from ms, effective rate per ms); a change at the same ms replaces the one before.
        self.rates: list[tuple[int, Fraction]] = [(0, Fraction(rate) / 1000)]
        for step in steps:
            if step.change is not None:
                new_rate, paused = step.change
                effective = Fraction(0) if paused else Fraction(new_rate) / 1000
                if self.rates[-1][0] == step.ms:
                    self.rates[-1] = (step.ms, effective)
                else:
                    self.rates.append((step.ms, effective))

    def capacity(self, ms: int) -> Fraction:
        total = Fraction(0)
        for index, (start, rate) in enumerate(self.rates):
            end = self.rates[index + 1][0] if index + 1 < len(self.rates) else ms
            end = min(end, ms)
            if end > start:
                total += rate * (end - start)
        return total

    def ranked(self, ms: int) -> int:
        return self.pre + sum(s.joins for s in self.steps if s.ms <= ms)

    def admitted(self, ms: int) -> Fraction:
        """Tickets admitted by `ms` (a fluid count), walking the joins in time order."""
        if ms <= 0:
            return Fraction(0)
        admitted = Fraction(0)
        ranked = self.pre
        last = 0
        for step in self.steps:
            if step.ms > ms:
                break
            if step.joins:
                gained = self.capacity(step.ms) - self.capacity(last)
                admitted = min(Fraction(ranked), admitted + gained)
                ranked += step.joins
                last = step.ms
        gained = self.capacity(ms) - self.capacity(last)
        return min(Fraction(ranked), admitted + gained)


def probe_times(steps: list[Step]) -> list[int]:
    """Times worth looking at: each event, just before and after it, and well after."""
    end = steps[-1].ms if steps else 0
    times = {0, 1, end + 1, end + 500, end + 60_000}
    for step in steps:
        times.update({max(step.ms - 1, 0), step.ms, step.ms + 1, step.ms + 250})
    return sorted(times)


BIG = 1_000_000


@functools.cache
def _pre_queue_template(size: int) -> AdmissionLedger:
    ledger = AdmissionLedger(AdmissionSchedule.starting(OPENS, 1))
    for _ in range(size):
        ledger.join(OPENS - timedelta(minutes=10))
    return ledger


def with_pre_queue(size: int, rate: float) -> AdmissionLedger:
    """A ledger with `size` tickets joined before the opening, admitting at `rate`."""
    ledger = copy.deepcopy(_pre_queue_template(size))
    ledger.change(RateChange(OPENS, rate))
    assert ledger.ranked == size
    return ledger


# --- the schedule -----------------------------------------------------------------------


def test_capacity_is_zero_at_and_before_the_opening() -> None:
    schedule = AdmissionSchedule.starting(OPENS, 2000)
    assert schedule.capacity(OPENS) == 0
    assert schedule.capacity(OPENS - timedelta(hours=1)) == 0
    assert schedule.capacity(secs(1.5)) == pytest.approx(3000)


@settings(max_examples=200, deadline=None)
@given(history=histories(max_steps=15))
def test_capacity_is_the_piecewise_integral_of_the_effective_rate(
    history: tuple[float, int, list[Step]],
) -> None:
    rate, pre, steps = history
    ledger = build(rate, pre, steps)
    model = FluidModel(rate, pre, steps)
    for ms in probe_times(steps):
        expected = model.capacity(ms)
        assert ledger.schedule.capacity(at_ms(ms)) == pytest.approx(float(expected), abs=1e-6)


@settings(deadline=None)
@given(rate=half_rates, before=st.integers(min_value=1, max_value=10**6))
def test_a_change_before_the_opening_takes_effect_at_the_opening(rate: float, before: int) -> None:
    schedule = AdmissionSchedule.starting(OPENS, 1).changed(
        RateChange(OPENS - timedelta(milliseconds=before), rate)
    )
    assert schedule.changes == (RateChange(OPENS, rate),)
    assert schedule.capacity(secs(10)) == pytest.approx(rate * 10)


def test_current_is_the_change_in_force() -> None:
    schedule = (
        AdmissionSchedule.starting(OPENS, 100)
        .changed(RateChange(secs(10), 100, paused=True))
        .changed(RateChange(secs(20), 300))
    )
    assert schedule.current(secs(5)) == RateChange(OPENS, 100)
    assert schedule.current(secs(10)).paused
    assert schedule.current(secs(19.999)).effective_rate == 0
    assert schedule.current(secs(20)) == RateChange(secs(20), 300)
    assert schedule.capacity(secs(30)) == pytest.approx(100 * 10 + 300 * 10)
    assert schedule.time_of_capacity(1000) == secs(10)
    assert schedule.time_of_capacity(1300) == secs(21)
    assert (
        AdmissionSchedule.starting(OPENS, 100)
        .changed(RateChange(secs(1), 100, paused=True))
        .time_of_capacity(101)
        is None
    )


# --- the ledger -------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(history=histories())
def test_admitted_by_follows_the_fluid_model(history: tuple[float, int, list[Step]]) -> None:
    rate, pre, steps = history
    ledger = build(rate, pre, steps)
    model = FluidModel(rate, pre, steps)
    for ms in probe_times(steps):
        assert ledger.admitted_by(at_ms(ms)) == math.floor(model.admitted(ms)), ms


@settings(max_examples=300, deadline=None)
@given(history=histories())
def test_admitted_by_is_monotone_and_never_above_the_tickets_ranked_or_the_rate(
    history: tuple[float, int, list[Step]],
) -> None:
    rate, pre, steps = history
    ledger = build(rate, pre, steps)
    model = FluidModel(rate, pre, steps)
    previous = 0
    for ms in probe_times(steps):
        admitted = ledger.admitted_by(at_ms(ms))
        assert admitted >= previous
        assert admitted <= model.ranked(ms)
        assert admitted <= math.floor(model.capacity(ms))
        previous = admitted
    assert ledger.admitted_by(OPENS) == 0
    assert ledger.admitted_by(OPENS - timedelta(seconds=1)) == 0


@settings(deadline=None)
@given(
    rate=st.floats(min_value=0.01, max_value=5_000, allow_nan=False),
    seconds=st.floats(min_value=0, max_value=180, allow_nan=False),
)
def test_with_a_large_pre_queue_rate_times_t_are_admitted_within_one(
    rate: float, seconds: float
) -> None:
    ledger = with_pre_queue(BIG, rate)
    at = OPENS + timedelta(seconds=seconds)
    elapsed = (at - OPENS).total_seconds()
    assert abs(ledger.admitted_by(at) - rate * elapsed) <= 1
    assert ledger.admitted_by(at) <= rate * elapsed + 1e-6


def test_a_large_pre_queue_joined_one_by_one_is_admitted_at_the_rate() -> None:
    ledger = AdmissionLedger(AdmissionSchedule.starting(OPENS, 2000))
    ranks = [ledger.join(OPENS - timedelta(seconds=n)) for n in range(50_000, 0, -1)]
    assert ranks == list(range(1, 50_001))
    for seconds in (0.0005, 0.001, 1, 7.25, 24.9999, 25, 100):
        expected = min(50_000, math.floor(2000 * seconds + 1e-9))
        assert ledger.admitted_by(secs(seconds)) == expected


@settings(deadline=None)
@given(
    rate=half_rates,
    paused_at=st.integers(min_value=0, max_value=60_000),
    pause=st.integers(min_value=1, max_value=600_000),
    new_rate=half_rates,
    after=st.integers(min_value=0, max_value=60_000),
)
def test_pause_freezes_admission_and_resume_continues_without_catching_up(
    rate: float, paused_at: int, pause: int, new_rate: float, after: int
) -> None:
    big = with_pre_queue(BIG, rate)
    big.change(RateChange(at_ms(paused_at), rate, paused=True))
    frozen = big.admitted_by(at_ms(paused_at))
    assert abs(frozen - rate * paused_at / 1000) <= 1
    for ms in (paused_at, paused_at + 1, paused_at + pause // 2, paused_at + pause):
        assert big.admitted_by(at_ms(ms)) == frozen
    resumed_at = paused_at + pause
    big.change(RateChange(at_ms(resumed_at), new_rate, paused=False))
    assert big.admitted_by(at_ms(resumed_at)) == frozen
    exact = Fraction(rate) * paused_at / 1000 + Fraction(new_rate) * after / 1000
    assert big.admitted_by(at_ms(resumed_at + after)) == math.floor(exact)


def test_a_paused_room_gives_no_admission_time_to_those_still_waiting() -> None:
    ledger = AdmissionLedger(AdmissionSchedule.starting(OPENS, 10))
    for _ in range(100):
        ledger.join(OPENS - timedelta(minutes=1))
    ledger.change(RateChange(secs(3), 10, paused=True))
    assert ledger.admitted_by(secs(3600)) == 30
    assert ledger.admitted_at(30) == secs(3)
    assert ledger.admitted_at(12) == secs(1.2)
    assert ledger.admitted_at(31) is None
    ledger.change(RateChange(secs(3600), 20))
    assert ledger.admitted_at(31) == secs(3600.05)
    assert ledger.admitted_by(secs(3601)) == 50


@settings(max_examples=300, deadline=None)
@given(history=histories(), data=st.data())
def test_admitted_at_is_the_first_microsecond_admitted_by_reaches_the_rank(
    history: tuple[float, int, list[Step]], data: st.DataObject
) -> None:
    rate, pre, steps = history
    ledger = build(rate, pre, steps)
    ranked = ledger.ranked
    if ranked == 0:
        return
    ranks = data.draw(st.lists(st.integers(min_value=1, max_value=ranked), max_size=10))
    for rank in {1, ranked, *ranks}:
        when = ledger.admitted_at(rank)
        if when is None:
            # Only a paused room leaves a ranked ticket without an admission time.
            assert ledger.schedule.changes[-1].paused
            assert ledger.admitted_by(secs(10**7)) < rank
            continue
        assert when > OPENS
        assert ledger.admitted_by(when) >= rank, (rank, when)
        assert ledger.admitted_by(when - US) < rank, (rank, when)


@pytest.mark.parametrize(
    ("rate", "rank"), [(0.5, 1), (1, 3), (4.5, 2), (3.5, 29), (7.5, 1), (6.5, 3)]
)
def test_admitted_at_agrees_with_admitted_by_to_the_microsecond(rate: float, rank: int) -> None:
    """A ticket reads admitted from its admission time on, and not a microsecond before:
    the time is not rounded to the nearest microsecond below the threshold, nor set
    later than the rounding slack of `admitted_by` already counts it."""
    ledger = AdmissionLedger(AdmissionSchedule.starting(OPENS, rate))
    for _ in range(50):
        ledger.join(OPENS - timedelta(minutes=1))
    when = ledger.admitted_at(rank)
    assert when is not None
    assert (when - OPENS).total_seconds() == pytest.approx(rank / rate, abs=1e-5)
    assert ledger.admitted_by(when) == rank
    assert ledger.admitted_by(when - US) == rank - 1
    assert view_ticket(rank, ledger, when, TTL).state is TicketState.ADMITTED
    assert view_ticket(rank, ledger, when - US, TTL).state is TicketState.WAITING


@settings(deadline=None)
@given(
    rate=half_rates,
    idle=st.integers(min_value=1, max_value=3_600_000),
    burst=st.integers(min_value=1, max_value=500),
    after=st.integers(min_value=0, max_value=120_000),
)
def test_capacity_unused_while_nobody_waits_is_not_banked(
    rate: float, idle: int, burst: int, after: int
) -> None:
    ledger = AdmissionLedger(AdmissionSchedule.starting(OPENS, rate))
    for _ in range(burst):
        ledger.join(at_ms(idle))
    assert ledger.admitted_by(at_ms(idle)) == 0
    expected = min(burst, math.floor(Fraction(rate) * after / 1000))
    assert ledger.admitted_by(at_ms(idle + after)) == expected
    # The burst's first is admitted 1/rate after it joined, not at once on banked capacity.
    for rank in (1, burst):
        when = ledger.admitted_at(rank)
        assert when is not None
        assert (when - at_ms(idle)).total_seconds() == pytest.approx(rank / rate, abs=1e-3)


def test_an_idle_spell_between_two_bursts_is_not_banked() -> None:
    ledger = AdmissionLedger(AdmissionSchedule.starting(OPENS, 10))
    for _ in range(20):
        ledger.join(OPENS - timedelta(seconds=1))
    assert ledger.admitted_by(secs(2)) == 20  # drained after 2 s
    for _ in range(50):
        ledger.join(secs(100))  # 98 idle seconds: 980 admissions unused
    assert ledger.admitted_by(secs(100)) == 20
    assert ledger.admitted_by(secs(101)) == 30
    assert ledger.admitted_by(secs(105)) == 70
    assert ledger.admitted_at(21) == secs(100.1)


def test_people_who_never_come_back_do_not_stall_the_queue() -> None:
    """Admission depends on the clock alone: nobody has to read a ticket for the ones
    behind to be admitted."""
    ledger = AdmissionLedger(AdmissionSchedule.starting(OPENS, 5))
    for _ in range(1000):
        ledger.join(OPENS - timedelta(seconds=1))
    assert ledger.admitted_by(secs(200)) == 1000
    assert ledger.admitted_at(1000) == secs(200)


# --- the shuffle ------------------------------------------------------------------------

customer_ids = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40
)


@settings(deadline=None)
@given(
    seed=st.binary(min_size=32, max_size=32),
    customers=st.sets(customer_ids, min_size=1, max_size=200),
    data=st.data(),
)
def test_shuffle_key_orders_any_pre_queue_as_a_permutation_fixed_by_the_seed(
    seed: bytes, customers: set[str], data: st.DataObject
) -> None:
    joined = sorted(customers)
    other_join_order = data.draw(st.permutations(joined))
    ordered = sorted(joined, key=lambda c: shuffle_key(seed, c))
    keys = {shuffle_key(seed, c) for c in joined}
    assert len(keys) == len(joined)  # no ties: the order is total
    assert sorted(ordered) == joined  # a permutation
    assert sorted(other_join_order, key=lambda c: shuffle_key(seed, c)) == ordered
    assert all(shuffle_key(seed, c) == shuffle_key(bytes(seed), c) for c in joined[:5])


@settings(deadline=None)
@given(
    seeds=st.lists(st.binary(min_size=32, max_size=32), min_size=2, max_size=2, unique=True),
    n=st.integers(min_value=25, max_value=60),
)
def test_another_seed_gives_another_order(seeds: list[bytes], n: int) -> None:
    customers = [f"c-{i:05d}" for i in range(n)]
    first, second = (sorted(customers, key=lambda c: shuffle_key(s, c)) for s in seeds)
    assert first != second
    assert first != customers


def test_the_shuffle_is_uniform_over_all_orders() -> None:
    """24,000 seeds over four customers: each of the 24 orders about 1,000 times
    (chi-square, 23 degrees of freedom, p = 0.001 at 49.7). Deterministic seeds."""
    customers = ["c-a", "c-b", "c-c", "c-d"]
    counts: Counter[tuple[str, ...]] = Counter()
    for i in range(24_000):
        seed = hashlib.sha256(i.to_bytes(4, "big")).digest()
        counts[tuple(sorted(customers, key=lambda c: shuffle_key(seed, c)))] += 1
    assert set(counts) == set(itertools.permutations(customers))
    chi2 = sum((count - 1000) ** 2 / 1000 for count in counts.values())
    assert chi2 < 49.7, counts


# --- what a ticket reads ----------------------------------------------------------------


def test_a_ticket_before_the_opening_waits_with_no_position() -> None:
    ledger = AdmissionLedger(AdmissionSchedule.starting(OPENS, 10))
    ledger.join(OPENS - timedelta(minutes=2))
    view = view_ticket(None, ledger, OPENS - timedelta(seconds=90), TTL)
    assert view.state is TicketState.WAITING
    assert view.position is None
    assert view.people_ahead is None
    assert view.eta_seconds == 90
    assert view_ticket(1, ledger, OPENS - timedelta(seconds=1), TTL).position is None


def test_a_ticket_waits_then_is_admitted_then_expires() -> None:
    ledger = AdmissionLedger(AdmissionSchedule.starting(OPENS, 10))
    for _ in range(100):
        ledger.join(OPENS - timedelta(minutes=1))
    waiting = view_ticket(25, ledger, secs(1.05), TTL)
    assert waiting.state is TicketState.WAITING
    assert (waiting.position, waiting.people_ahead) == (15, 14)
    assert waiting.eta_seconds == pytest.approx(1.45)
    assert waiting.admitted_at is None
    assert waiting.expires_at is None
    admitted = view_ticket(25, ledger, secs(2.5), TTL)
    assert admitted.state is TicketState.ADMITTED
    assert admitted.people_ahead == 0
    assert admitted.admitted_at == secs(2.5)
    assert admitted.expires_at == secs(2.5) + TTL
    later = view_ticket(25, ledger, secs(2.5) + TTL - US, TTL)
    assert later.state is TicketState.ADMITTED
    assert later.expires_at == admitted.expires_at
    expired = view_ticket(25, ledger, secs(2.5) + TTL, TTL)
    assert expired.state is TicketState.EXPIRED
    assert expired.expires_at == admitted.expires_at


@settings(max_examples=200, deadline=None)
@given(history=histories(), data=st.data())
def test_a_waiting_tickets_eta_is_when_it_will_be_admitted(
    history: tuple[float, int, list[Step]], data: st.DataObject
) -> None:
    rate, pre, steps = history
    ledger = build(rate, pre, steps)
    if ledger.ranked == 0:
        return
    rank = data.draw(st.integers(min_value=1, max_value=ledger.ranked))
    end = steps[-1].ms if steps else 0
    now = at_ms(data.draw(st.integers(min_value=end, max_value=end + 60_000)))
    view = view_ticket(rank, ledger, now, TTL)
    admitted = ledger.admitted_by(now)
    if rank <= admitted:
        assert view.state in (TicketState.ADMITTED, TicketState.EXPIRED)
        return
    assert view.position == rank - admitted
    assert view.people_ahead == view.position - 1
    if view.eta_seconds is None:
        assert ledger.schedule.current(now).paused
        return
    when = now + timedelta(seconds=view.eta_seconds)
    assert when == ledger.admitted_at(rank)
    assert ledger.admitted_by(when) >= rank
    assert ledger.admitted_by(when - US) < rank
