"""Simulated customers: deterministic, and meeting the scenario's counts and shares exactly."""

from __future__ import annotations

import bisect
import dataclasses
import math
import random
from collections import Counter
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchday.sim.cancels_and_locks import CANCEL_HORIZON_SECONDS
from launchday.sim.customers import (
    OVERSUBSCRIPTION,
    SEEKER_WINDOW,
    Crowd,
    PlannedOrder,
    apportion,
    choose_variants,
    expected_skus,
    first_choice_counts,
    generate_customers,
    locked_by,
    quota_flags,
    registrations,
    timeline,
)
from launchday.sim.scenario import (
    Milestone,
    Scenario,
    ScenarioVariant,
    scaled_count,
    scaled_milestones,
    scaled_stock,
    variant_deposit,
)
from launchday.sim.scenario_file import load_scenario

SCALE = 0.01


@cache
def scenario(name: str) -> Scenario:
    return load_scenario(name)


@cache
def crowd(name: str, seed: int = 7, scale: float = SCALE) -> Crowd:
    return generate_customers(scenario(name), scale=scale, seed=seed)


def planned_orders(c: Crowd) -> list[PlannedOrder]:
    """Every planned order, in arrival order."""
    return sorted((x.order for x in c.customers if x.order is not None), key=lambda o: o.at)


def assert_arrivals_meet_every_milestone(c: Crowd) -> None:
    """One arrival per planned order, and exactly each segment's rise between milestones."""
    times = [o.at for o in planned_orders(c)]
    assert len(times) == c.milestones[-1].orders
    after, orders = 0.0, 0
    for m in c.milestones:
        inside = sum(1 for t in times if after < t <= m.after_seconds)
        assert inside == m.orders - orders
        after, orders = m.after_seconds, m.orders


def buyers(c: Crowd) -> list[tuple[str, float, float | None, float | None]]:
    return [
        (x.id, x.order.at, x.order.lock_at, x.order.cancel_at)
        for x in c.customers
        if x.order is not None
    ]


# --- determinism ------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_crowd() -> None:
    a = generate_customers(scenario("yu7-2025"), scale=SCALE, seed=11)
    b = generate_customers(scenario("yu7-2025"), scale=SCALE, seed=11)
    assert a == b


def test_another_seed_gives_another_crowd() -> None:
    assert buyers(crowd("yu7-2025", 1)) != buyers(crowd("yu7-2025", 2))


def test_ids_are_unique_and_carry_the_prefix() -> None:
    c = generate_customers(scenario("su7-2024"), scale=SCALE, seed=1, id_prefix="r42")
    ids = [x.id for x in c.customers]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("r42-") for i in ids)


# --- who, how many, and when -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["yu7-2025", "su7-2024"])
def test_every_order_milestone_is_met_exactly(name: str) -> None:
    c = crowd(name)
    times = sorted(x.order.at for x in c.customers if x.order is not None)
    for m in c.milestones:
        assert bisect.bisect_right(times, m.after_seconds) == m.orders


def test_registrations_and_orders_overlap_as_far_as_they_can() -> None:
    c = crowd("yu7-2025")
    registered = [x for x in c.customers if x.registered_at is not None]
    ordered = [x for x in c.customers if x.order is not None]
    assert len(registered) == 3000
    assert len(ordered) == 2890
    assert len(c.customers) == 3000
    # More registrations than orders: every buyer registered first.
    assert all(x.registered_at is not None for x in ordered)


def test_with_fewer_registrations_than_orders_every_registrant_buys() -> None:
    base = scenario("su7-2024")
    assert base.interest is not None
    few = dataclasses.replace(
        base, interest=dataclasses.replace(base.interest, registrations=50_000)
    )
    c = generate_customers(few, scale=SCALE, seed=3)
    assert len(c.customers) == 889
    assert sum(1 for x in c.customers if x.registered_at is not None) == 500
    assert all(x.order is not None for x in c.customers)


def test_registrations_fall_in_the_interest_window_before_opening() -> None:
    c = crowd("yu7-2025")
    times = [x.registered_at for x in registrations(c) if x.registered_at is not None]
    assert len(times) == 3000
    assert times == sorted(times)
    assert all(-72 * 3600 <= t < 0 for t in times)


def test_profiles_meet_the_published_shares() -> None:
    c = crowd("yu7-2025")
    ordered = [x for x in c.customers if x.order is not None]
    registered = [x for x in c.customers if x.registered_at is not None]
    phones = Counter(x.profile.phone for x in ordered)
    assert set(phones) <= {"ios", "android", "other"}
    assert abs(phones["ios"] - 0.524 * len(ordered)) <= 1
    first = sum(1 for x in registered if x.profile.first_car_with_brand)
    new = sum(1 for x in registered if x.profile.new_to_brand)
    # Exact within each of the (two) groups the registrants fall in, so within two overall.
    assert abs(first - 0.60 * len(registered)) <= 2
    assert abs(new - 0.40 * len(registered)) <= 2


def test_a_share_the_scenario_does_not_give_stays_unknown() -> None:
    c = crowd("su7-2024")
    assert {x.profile.first_car_with_brand for x in c.customers} == {None}
    assert {x.profile.new_to_brand for x in c.customers} == {None}
    assert None not in {x.profile.phone for x in c.customers}


def test_variants_follow_the_mix_exactly() -> None:
    c = crowd("yu7-2025")
    chosen = Counter(x.order.sku for x in c.customers if x.order is not None)
    assert [chosen[v.sku] for v in scenario("yu7-2025").variants] == apportion(
        2890, [0.34, 0.33, 0.33]
    )


def test_a_limited_run_goes_to_its_first_buyers_then_to_the_fallback() -> None:
    base = scenario("su7-2024")
    # Make the Founders Edition the most wanted, far above its (scaled) 50 units.
    hot = dataclasses.replace(
        base,
        variants=tuple(
            dataclasses.replace(v, mix=0.7 if v.stock is not None else 0.1) for v in base.variants
        ),
    )
    c = generate_customers(hot, scale=SCALE, seed=5)
    wanting = sorted(
        (x.order for x in c.customers if x.order and x.order.sku == "SU7-FOUNDERS"),
        key=lambda o: o.at,
    )
    assert len(wanting) > 50
    assert all(o.expected_sku == "SU7-FOUNDERS" for o in wanting[:50])
    assert all(o.fallback_sku in {"SU7-STD", "SU7-PRO", "SU7-MAX"} for o in wanting)
    assert all(o.expected_sku == o.fallback_sku for o in wanting[50:])


def test_expected_skus_without_a_fallback_expect_a_sold_out() -> None:
    assert expected_skus(["L", "L", "B"], [None, None, None], {"L": 1}) == ["L", None, "B"]


# --- limited runs: oversubscribed, front-loaded, sold out exactly at their stock ---------------


def assert_limited_run_sells_out(c: Crowd, sku: str, stock: int, open_skus: set[str]) -> None:
    """The checks every crowd with one limited variant `sku` (scaled `stock`) must pass."""
    orders = planned_orders(c)
    seekers = [j for j, o in enumerate(orders) if o.sku == sku]
    if len(orders) > stock > 0:
        assert len(seekers) > stock
    # The first `stock` seekers in arrival order get the run; nobody else expects it.
    served = [j for j, o in enumerate(orders) if o.expected_sku == sku]
    assert served == seekers[:stock]
    # Seekers come first: all among the earliest SEEKER_WINDOW x seekers arrivals.
    assert all(j < min(len(orders), SEEKER_WINDOW * len(seekers)) for j in seekers)
    for j in seekers[stock:]:
        assert orders[j].expected_sku == orders[j].fallback_sku
    for o in orders:
        if o.sku == sku and open_skus:
            assert o.fallback_sku in open_skus
        elif o.sku == sku:
            assert o.fallback_sku is None
        else:
            assert o.sku in open_skus
            assert (o.fallback_sku, o.expected_sku) == (None, o.sku)
    placed = sum(1 for o in orders if o.expected_sku is not None)
    assert placed == (len(orders) if open_skus else min(len(orders), stock))
    assert_arrivals_meet_every_milestone(c)


@pytest.mark.parametrize("scale", [0.05, 0.01])
def test_the_founders_edition_is_oversubscribed_and_sells_out_in_the_first_minutes(
    scale: float,
) -> None:
    s = scenario("su7-2024")
    c = crowd("su7-2024", scale=scale)
    orders = planned_orders(c)
    n = scaled_count(88_898, scale)
    stock = scaled_stock(5000, scale)
    assert len(orders) == n
    assert_limited_run_sells_out(c, "SU7-FOUNDERS", stock, {"SU7-STD", "SU7-PRO", "SU7-MAX"})
    seekers = [o for o in orders if o.sku == "SU7-FOUNDERS"]
    # Far more want it than its stock (its 5% mix share alone would be short of it)...
    assert len(seekers) == max(scaled_count(n, 0.05), math.ceil(OVERSUBSCRIPTION * stock))
    assert scaled_count(n, 0.05) < stock < len(seekers)
    # ...and the other variants give up those buyers in proportion to their mix.
    chosen = Counter(o.sku for o in orders)
    assert [chosen[v.sku] for v in s.variants if v.stock is None] == apportion(
        n - len(seekers), [0.40, 0.25, 0.30]
    )
    # The last unit goes before the 7-minute milestone (20,000 orders).
    assert [o for o in orders if o.expected_sku == "SU7-FOUNDERS"][-1].at <= 7 * 60


def test_a_stock_of_none_sends_every_seeker_to_the_fallback() -> None:
    base = scenario("su7-2024")
    gone = dataclasses.replace(
        base,
        variants=tuple(
            dataclasses.replace(v, stock=0) if v.stock is not None else v for v in base.variants
        ),
    )
    assert scaled_stock(0, SCALE) == 0
    c = generate_customers(gone, scale=SCALE, seed=4)
    orders = planned_orders(c)
    # No oversubscription to add: the seekers are its mix share, and all of them fall back.
    assert sum(1 for o in orders if o.sku == "SU7-FOUNDERS") == scaled_count(889, 0.05)
    assert_limited_run_sells_out(c, "SU7-FOUNDERS", 0, {"SU7-STD", "SU7-PRO", "SU7-MAX"})
    assert all(o.expected_sku not in {None, "SU7-FOUNDERS"} for o in orders)


def test_without_a_built_to_order_variant_seekers_past_the_stock_place_no_order() -> None:
    base = scenario("su7-2024")
    only = dataclasses.replace(
        base,
        variants=tuple(dataclasses.replace(v, mix=1.0) for v in base.variants if v.stock),
    )
    c = generate_customers(only, scale=SCALE, seed=6)
    orders = planned_orders(c)
    # Everyone arrives (the arrival milestones hold) but only 50 orders can be accepted.
    assert len(orders) == 889
    assert all(o.sku == "SU7-FOUNDERS" for o in orders)
    assert_limited_run_sells_out(c, "SU7-FOUNDERS", 50, set())
    unserved = [o for o in orders if o.expected_sku is None]
    assert len(unserved) == 889 - 50
    assert all(
        o.cancel_at is None and o.lock_at is None and o.locked_from is None for o in unserved
    )


def test_a_refundable_limited_order_is_cancelled_only_after_its_last_seeker() -> None:
    base = scenario("su7-2024")
    # A Founders Edition with the launch's 168-hour window, and many cancellations.
    refundable = dataclasses.replace(
        base,
        cancel_share=0.5,
        variants=tuple(
            dataclasses.replace(v, refundable_hours=None) if v.stock else v for v in base.variants
        ),
    )
    c = generate_customers(refundable, scale=SCALE, seed=8)
    orders = planned_orders(c)
    last_seeker = max(o.at for o in orders if o.sku == "SU7-FOUNDERS")
    cancelled = [o for o in orders if o.expected_sku == "SU7-FOUNDERS" and o.cancel_at]
    assert cancelled
    for o in cancelled:
        assert o.cancel_at is not None
        assert last_seeker <= o.cancel_at < o.at + CANCEL_HORIZON_SECONDS
    assert sum(1 for o in orders if o.cancel_at is not None) == scaled_count(889, 0.5)
    assert sum(1 for o in orders if o.expected_sku == "SU7-FOUNDERS") == 50


def variant(sku: str, mix: float, stock: int | None = None) -> ScenarioVariant:
    return ScenarioVariant(sku=sku, name=sku, price=1, mix=mix, stock=stock)


def test_first_choices_raise_a_limited_run_and_shrink_the_others_by_mix() -> None:
    variants = [variant("A", 0.5), variant("L", 0.1, 40), variant("B", 0.4)]
    # L wants max(10, 80) of 100; A and B share the other 20 by mix.
    assert first_choice_counts(variants, 100, {"L": 40}) == [11, 80, 9]
    # A limited run already wanted by more than twice its stock keeps its mix share.
    assert first_choice_counts(variants, 1000, {"L": 40}) == [500, 100, 400]
    assert first_choice_counts(variants, 0, {"L": 40}) == [0, 0, 0]


def test_limited_runs_wanting_more_than_everyone_share_everyone() -> None:
    variants = [variant("L1", 0.2, 40), variant("L2", 0.2, 20), variant("B", 0.6)]
    assert first_choice_counts(variants, 100, {"L1": 40, "L2": 20}) == [67, 33, 0]
    skus, fallbacks = choose_variants(variants, 100, {"L1": 40, "L2": 20}, random.Random(1))
    assert Counter(skus) == {"L1": 67, "L2": 33}
    assert set(fallbacks) == {"B"}


def test_each_limited_run_takes_its_window_from_the_arrivals_left() -> None:
    variants = [variant("L1", 0.0, 10), variant("L2", 0.0, 5), variant("B", 1.0)]
    skus, _ = choose_variants(variants, 1000, {"L1": 10, "L2": 5}, random.Random(2))
    first = [j for j, sku in enumerate(skus) if sku == "L1"]
    second = [j for j, sku in enumerate(skus) if sku == "L2"]
    assert (len(first), len(second)) == (20, 10)
    assert max(first) < 40
    # L2's window is the 20 earliest arrivals L1 did not take.
    left = [j for j, sku in enumerate(skus) if sku != "L1"]
    assert set(second) <= set(left[:20])


# --- cancellations and locks --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["yu7-2025", "su7-2024"])
def test_cancellations_are_the_share_and_fall_inside_the_window(name: str) -> None:
    s = scenario(name)
    c = crowd(name)
    windows = {v.sku: variant_deposit(s, v).refundable_hours * 3600 for v in s.variants}
    orders = [x.order for x in c.customers if x.order is not None]
    cancelled = [o for o in orders if o.cancel_at is not None]
    assert len(cancelled) == scaled_count(len(orders), s.cancel_share)
    for o in cancelled:
        assert o.cancel_at is not None
        assert o.expected_sku is not None
        window = windows[o.expected_sku]
        assert o.at <= o.cancel_at < o.at + min(window, CANCEL_HORIZON_SECONDS)
        assert o.lock_at is None
        assert o.locked_from is None


def test_the_yu7_lock_milestones_are_met_exactly() -> None:
    c = crowd("yu7-2025")
    assert c.unmet_locks == 0
    assert [locked_by(c, m.after_seconds) for m in c.locks] == [1280, 2400]


def test_the_su7_windows_alone_lock_more_than_its_27_day_figure() -> None:
    # Every order not cancelled has locked long before 27 days (168 h windows); the early
    # lock plan cannot lower that, so it adds no early locks.
    c = crowd("su7-2024")
    orders = [x.order for x in c.customers if x.order is not None]
    assert all(o.lock_at is None for o in orders)
    assert locked_by(c, c.locks[0].after_seconds) == sum(1 for o in orders if o.cancel_at is None)


def test_founders_orders_lock_on_payment() -> None:
    c = crowd("su7-2024")
    founders = [x.order for x in c.customers if x.order and x.order.expected_sku == "SU7-FOUNDERS"]
    assert founders
    assert all(o.locked_from == o.at and o.cancel_at is None for o in founders)


def test_an_early_lock_comes_after_its_order_and_before_its_window_ends() -> None:
    c = crowd("yu7-2025")
    early = [x.order for x in c.customers if x.order and x.order.lock_at is not None]
    assert len(early) == 2400
    for o in early:
        assert o.lock_at is not None
        assert o.at < o.lock_at < o.at + 168 * 3600
        assert o.locked_from == o.lock_at


def test_the_timeline_is_in_time_order_with_each_order_first() -> None:
    c = crowd("yu7-2025")
    events = timeline(c)
    assert [e.at for e in events] == sorted(e.at for e in events)
    placed: set[str] = set()
    for e in events:
        if e.kind == "order":
            placed.add(e.customer.id)
        else:
            assert e.customer.id in placed
    kinds = Counter(e.kind for e in events)
    assert kinds == {"order": 2890, "lock": 2400, "cancel": 14}


# --- properties over random scenarios ------------------------------------------------------------


@st.composite
def replays(draw: st.DrawFn) -> tuple[Scenario, float, int]:
    """The YU7 with random order and lock milestones, cancel share, scale and seed."""
    steps = draw(
        st.lists(st.tuples(st.integers(1, 7200), st.integers(0, 400)), min_size=1, max_size=5)
    )
    at, total, milestones = 0, 0, []
    for gap, rise in steps:
        at, total = at + gap, total + rise
        milestones.append(Milestone(float(at), total, "assumed"))
    lock_steps = draw(st.lists(st.integers(1, 400_000), max_size=3, unique=True))
    locks = []
    previous = 0
    for when in sorted(lock_steps):
        # Never more than the orders placed by then, and never going down.
        bound = next((m.orders for m in milestones if m.after_seconds >= when), total)
        count = draw(st.integers(previous, max(previous, bound)))
        locks.append(Milestone(float(when), count, "assumed"))
        previous = count
    yu7 = scenario("yu7-2025")
    assert yu7.interest is not None
    base = dataclasses.replace(
        yu7,
        milestones=tuple(milestones),
        locks=tuple(locks),
        cancel_share=draw(st.floats(0, 0.2)),
        interest=dataclasses.replace(yu7.interest, registrations=draw(st.integers(0, 1000))),
    )
    return base, draw(st.sampled_from([0.5, 1.0, 2.0])), draw(st.integers(0, 2**31))


@given(replays())
@settings(deadline=None, max_examples=40)
def test_any_replay_meets_its_milestones_and_lock_plan(case: tuple[Scenario, float, int]) -> None:
    s, scale, seed = case
    c = generate_customers(s, scale=scale, seed=seed)
    orders = [x.order for x in c.customers if x.order is not None]
    times = sorted(o.at for o in orders)
    for m in c.milestones:
        assert bisect.bisect_right(times, m.after_seconds) == m.orders
    previous = 0.0
    for m in c.locks:
        locked = locked_by(c, m.after_seconds)
        early_here = sum(
            1 for o in orders if o.lock_at is not None and previous < o.lock_at <= m.after_seconds
        )
        # Met, short only by what found no buyer, and above it only when windows alone are.
        assert locked >= m.orders - c.unmet_locks
        assert locked <= m.orders or early_here == 0
        previous = m.after_seconds
    for o in orders:
        assert not (o.lock_at is not None and o.cancel_at is not None)
        if o.lock_at is not None:
            assert o.lock_at > o.at


@given(
    total=st.integers(0, 10**6),
    weights=st.lists(st.floats(0, 1), min_size=1, max_size=10),
)
def test_apportion_sums_exactly_and_stays_within_one_of_each_quota(
    total: int, weights: list[float]
) -> None:
    counts = apportion(total, weights)
    assert sum(counts) == total
    whole = sum(weights)
    shares = [w / whole for w in weights] if whole > 0 else [1 / len(weights)] * len(weights)
    assert all(abs(c - total * s) < 1 + 1e-6 for c, s in zip(counts, shares, strict=True))


@given(count=st.integers(0, 5000), share=st.floats(0, 1), seed=st.integers(0, 2**31))
def test_quota_flags_are_exact(count: int, share: float, seed: int) -> None:
    flags = quota_flags(count, share, random.Random(seed))
    assert len(flags) == count
    assert abs(sum(flags) - share * count) <= 0.5


@st.composite
def limited_replays(draw: st.DrawFn) -> tuple[Scenario, float, int]:
    """Small scenarios with one limited variant among up to three built to order."""
    steps = draw(
        st.lists(st.tuples(st.integers(1, 3600), st.integers(0, 150)), min_size=1, max_size=4)
    )
    at, total, milestones = 0, 0, []
    for gap, rise in steps:
        at, total = at + gap, total + rise
        milestones.append(Milestone(float(at), total, "assumed"))
    opens = draw(st.integers(0, 3))
    weights = draw(st.lists(st.integers(0, 10), min_size=opens + 1, max_size=opens + 1))
    whole = sum(weights)
    mixes = [w / whole if whole else 1 / len(weights) for w in weights]
    limited = ScenarioVariant(
        sku="L",
        name="Limited",
        price=1,
        mix=mixes[0],
        stock=draw(st.integers(0, 120)),
        refundable_hours=draw(st.sampled_from([None, 0.0, 2.0])),
    )
    others = [variant(f"B{k}", mixes[k + 1]) for k in range(opens)]
    variants = [*others]
    variants.insert(draw(st.integers(0, opens)), limited)
    base = dataclasses.replace(
        scenario("su7-2024"),
        variants=tuple(variants),
        milestones=tuple(milestones),
        locks=(),
        cancel_share=draw(st.floats(0, 0.5)),
        interest=None,
    )
    return base, draw(st.sampled_from([0.5, 1.0, 2.0])), draw(st.integers(0, 2**31))


@given(limited_replays())
@settings(deadline=None, max_examples=60)
def test_any_limited_run_is_oversubscribed_front_loaded_and_sold_out_exactly(
    case: tuple[Scenario, float, int],
) -> None:
    s, scale, seed = case
    c = generate_customers(s, scale=scale, seed=seed)
    limited = next(v for v in s.variants if v.stock is not None)
    assert limited.stock is not None
    stock = scaled_stock(limited.stock, scale)
    n = scaled_milestones(s, scale)[-1].orders
    opens = {v.sku for v in s.variants if v.stock is None}
    orders = planned_orders(c)
    assert len(orders) == n
    seekers = [o for o in orders if o.sku == "L"]
    by_mix = apportion(n, [v.mix for v in s.variants])[s.variants.index(limited)]
    wanted = max(by_mix, math.ceil(OVERSUBSCRIPTION * stock))
    assert len(seekers) == (min(n, wanted) if opens else n)
    assert_limited_run_sells_out(c, "L", stock, opens)
    # A cancelled limited order returns its unit only once no seeker is left to take it.
    for o in orders:
        if o.cancel_at is not None and o.expected_sku == "L":
            assert o.cancel_at >= max(x.at for x in seekers)
