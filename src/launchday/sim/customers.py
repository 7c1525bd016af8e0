"""Simulated customers for a rehearsal: who registers, orders what and when, locks or cancels.

Everything here is drawn from the scenario, the scale and a seed (the same three
give the same crowd, value for value); nothing reads a clock. Times are seconds
relative to the opening: negative before it (registrations), positive after.

The model, and what in it is assumed:

- Population. R = registrations x scale register interest and N = the last order
  milestone x scale order (one order each, the launches' per-customer limit). The
  crowd has max(R, N) people: when R >= N the buyers are a random N of the
  registrants, else every registrant buys and the other buyers never registered.
- Profiles. Shares are met exactly (to one person), not just on average, so a
  report can be held against the scenario: `first_car_with_brand` and
  `new_to_brand` over the registrants, `apple_users` (phone `ios`) over the
  buyers; the rest of the phones are `android`, except `OTHER_PHONE_SHARE` of them
  (assumed). A share the scenario does not give leaves that field unknown (None).
- Registrations fall uniformly over the interest window before the opening.
- Arrivals are drawn along the scenario's curve (see `launchday.sim.curve`), so
  every milestone count is met exactly, and each arrival is a random buyer.
- First choices. Built-to-order variants are split by `mix` exactly (largest
  remainder) and shuffled. A limited edition is oversubscribed, as the launches
  report ("demand far above its stock"): its seekers, the buyers whose first
  choice it is, number max(its mix share of N, ceil(`OVERSUBSCRIPTION` x scaled
  stock)), `OVERSUBSCRIPTION` = 2 being assumed; the built-to-order variants'
  counts shrink by mix (largest remainder) so that the first choices still sum to
  N. If the limited editions then want more than N buyers (or there is no
  built-to-order variant), N is split among them in proportion to what they want.
- Seekers come first (assumed, as the SU7 Founders Edition sold out at once): a
  limited edition's seekers are a random choice among the earliest
  `SEEKER_WINDOW` x seekers arrivals (all of them, if fewer), so the run sells
  out in the first minutes. With several limited editions, each in scenario
  order takes its window from the arrivals the ones before it left.
- Every seeker also has a build-to-order fallback (drawn by mix) for when the API
  answers sold_out; the plan expects a limited run to go to its first `stock`
  seekers in arrival order and the rest to their fallback (`expected_sku`), so
  each arrival still places exactly one order and every milestone count holds.
  Only when a scenario has no built-to-order variant do seekers have no fallback:
  those past the stock (all of them, for a declared stock of 0) get sold_out and
  place no order (`expected_sku` None), and only then can the accepted orders fall
  short of the milestone counts. Scaling never turns a stock into 0 (see
  `scaled_stock`); a stock of 0 with built-to-order variants sends every seeker
  to the fallback.
- Cancellations: cancel_share x N buyers among those whose expected variant is
  refundable, each at a uniform time in the first `CANCEL_HORIZON_SECONDS` of its
  window (assumed, as the SU7's refund requests came by the next day). A cancelled
  limited order returns its unit, so it is cancelled only after the last seeker of
  its variant has arrived (no seeker the plan expects to fall back gets it
  instead), and not at all if its window ends before then.
- Early locks follow the scenario's `locks`: an order reads as locked from its
  early lock or from the end of its window, whichever is first. For each lock
  milestone the plan counts what windows alone will have locked by then and adds
  just enough early locks, at times drawn along the lock curve in that segment,
  to reach the milestone. Each early lock goes to a random buyer who has ordered,
  will not cancel, and whose window would still be open at the milestone. A
  milestone that windows alone overshoot (the SU7's 27-day figure) cannot be
  lowered and is left as it falls; one that cannot be reached counts as unmet.
"""

from __future__ import annotations

import functools
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from launchday.api.wire import ProfileSpec
from launchday.sim.cancels_and_locks import locked_from, plan_cancels, plan_locks
from launchday.sim.curve import draw_arrivals
from launchday.sim.scenario import (
    Milestone,
    Scenario,
    ScenarioVariant,
    scaled_count,
    scaled_locks,
    scaled_milestones,
    scaled_stock,
    variant_deposit,
)

Phone = Literal["ios", "android", "other"]
EventKind = Literal["order", "lock", "cancel"]

# Of the buyers without an iPhone, the share whose phone is neither iOS nor Android (assumed).
OTHER_PHONE_SHARE: Final = 0.05
# A limited edition's seekers are at least this many times its scaled stock (assumed).
OVERSUBSCRIPTION: Final = 2.0
# ...and fall among the earliest this many times their number of arrivals (assumed).
SEEKER_WINDOW: Final = 2
_KIND_ORDER: Final[dict[str, int]] = {"order": 0, "lock": 1, "cancel": 2}


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    """One buyer's order and what follows it, in seconds after opening."""

    at: float
    sku: str
    fallback_sku: str | None
    # The variant the buyer should end up with once limited runs sell out; None: sold out.
    expected_sku: str | None
    lock_at: float | None = None
    cancel_at: float | None = None
    # When the order should read as locked (early lock or window end); None if it never does.
    locked_from: float | None = None


@dataclass(frozen=True, slots=True)
class SimCustomer:
    """A simulated customer: id, profile, registration time (if any) and order (if any)."""

    id: str
    profile: ProfileSpec
    registered_at: float | None
    order: PlannedOrder | None


@dataclass(frozen=True, slots=True)
class Crowd:
    """Everyone in one rehearsal, and the scaled figures they were drawn to meet."""

    seed: int
    scale: float
    customers: tuple[SimCustomer, ...]
    milestones: tuple[Milestone, ...]
    locks: tuple[Milestone, ...]
    # Early locks the plan wanted but found no eligible buyer for.
    unmet_locks: int


@dataclass(frozen=True, slots=True)
class Event:
    """One thing a simulated customer does after opening."""

    at: float
    kind: EventKind
    customer: SimCustomer


def generate_customers(
    scenario: Scenario, *, scale: float, seed: int, id_prefix: str = "sim"
) -> Crowd:
    """The simulated crowd for `scenario` at `scale`, the same for the same seed."""
    milestones = scaled_milestones(scenario, scale)
    locks = scaled_locks(scenario, scale)
    orders = milestones[-1].orders
    registrations = (
        0 if scenario.interest is None else scaled_count(scenario.interest.registrations, scale)
    )
    size = max(orders, registrations)
    buyers, registered = _population(size, orders, registrations, _rng(seed, "population"))

    arrivals = draw_arrivals(milestones, _rng(seed, "arrivals"))
    stocks = {v.sku: scaled_stock(v.stock, scale) for v in scenario.variants if v.stock is not None}
    skus, fallbacks = choose_variants(scenario.variants, orders, stocks, _rng(seed, "variants"))
    expected = expected_skus(skus, fallbacks, stocks)
    by_sku = {v.sku: v for v in scenario.variants}
    windows = [
        None if sku is None else variant_deposit(scenario, by_sku[sku]).refundable_hours * 3600
        for sku in expected
    ]
    # A limited order's returned unit must not reach a seeker the plan expects to fall back.
    last_seeker = {skus[j]: arrivals[j] for j in range(orders) if skus[j] in stocks}
    not_before = [None if sku is None else last_seeker.get(sku) for sku in expected]
    cancels = plan_cancels(
        arrivals, windows, scenario.cancel_share, _rng(seed, "cancels"), not_before=not_before
    )
    ends = [
        None if w is None or c is not None else a + w
        for a, w, c in zip(arrivals, windows, cancels, strict=True)
    ]
    lock_at, unmet = plan_locks(arrivals, ends, locks, _rng(seed, "locks"))

    planned = [
        PlannedOrder(
            at=arrivals[j],
            sku=skus[j],
            fallback_sku=fallbacks[j],
            expected_sku=expected[j],
            lock_at=lock_at[j],
            cancel_at=cancels[j],
            locked_from=locked_from(lock_at[j], ends[j]),
        )
        for j in range(orders)
    ]
    order_of: dict[int, PlannedOrder] = {buyers[j]: planned[j] for j in range(orders)}
    profiles = assign_profiles(scenario, size, set(buyers), registered, _rng(seed, "profiles"))
    window = 0.0 if scenario.interest is None else scenario.interest.window_seconds
    registered_at = registration_times(size, registered, window, _rng(seed, "registrations"))
    width = max(6, len(str(size)))
    customers = tuple(
        SimCustomer(
            id=f"{id_prefix}-{i:0{width}d}",
            profile=profiles[i],
            registered_at=registered_at[i],
            order=order_of.get(i),
        )
        for i in range(size)
    )
    return Crowd(seed, scale, customers, milestones, locks, unmet)


def timeline(crowd: Crowd) -> list[Event]:
    """Every order, early lock and cancellation, in time order (an order before its own lock)."""
    events: list[Event] = []
    for customer in crowd.customers:
        order = customer.order
        if order is None:
            continue
        events.append(Event(order.at, "order", customer))
        if order.lock_at is not None:
            events.append(Event(order.lock_at, "lock", customer))
        if order.cancel_at is not None:
            events.append(Event(order.cancel_at, "cancel", customer))
    events.sort(key=lambda e: (e.at, _KIND_ORDER[e.kind], e.customer.id))
    return events


def registrations(crowd: Crowd) -> list[SimCustomer]:
    """The customers who register interest, earliest first."""
    registered = [c for c in crowd.customers if c.registered_at is not None]
    registered.sort(key=lambda c: (c.registered_at, c.id))
    return registered


def locked_by(crowd: Crowd, after_seconds: float) -> int:
    """How many orders the plan expects to read as locked `after_seconds` after opening."""
    return sum(
        1
        for c in crowd.customers
        if c.order is not None
        and c.order.locked_from is not None
        and c.order.locked_from <= after_seconds
    )


# --- the parts, each pure given its random stream ------------------------------------------


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in proportion to `weights` by largest remainder: sums to `total` exactly."""
    if total < 0:
        raise ValueError("total cannot be negative")
    if not weights:
        raise ValueError("need at least one weight")
    if any(w < 0 or not math.isfinite(w) for w in weights):
        raise ValueError("weights must be finite and non-negative")
    whole = math.fsum(weights)
    shares = [w / whole for w in weights] if whole > 0 else [1 / len(weights)] * len(weights)
    quotas = [total * s for s in shares]
    counts = [math.floor(q) for q in quotas]
    left = total - sum(counts)
    # Largest remainders first; ties go to the earlier weight, so the split is reproducible.
    order = sorted(range(len(quotas)), key=lambda i: (counts[i] - quotas[i], i))
    for i in order[:left]:
        counts[i] += 1
    return counts


def quota_flags(count: int, share: float, rng: random.Random) -> list[bool]:
    """`count` flags of which exactly round(share x count) are True, in random order."""
    trues = min(count, scaled_count(count, share))
    flags = [True] * trues + [False] * (count - trues)
    rng.shuffle(flags)
    return flags


def first_choice_counts(
    variants: Sequence[ScenarioVariant], count: int, stocks: dict[str, int]
) -> list[int]:
    """How many of `count` buyers first choose each variant: limited runs oversubscribed.

    `stocks` holds the scaled stock of each limited variant (by SKU); the others are
    built to order. The counts sum to `count` (see the module docstring).
    """
    by_mix = apportion(count, [v.mix for v in variants])
    limited = [i for i, v in enumerate(variants) if v.sku in stocks]
    open_ended = [i for i, v in enumerate(variants) if v.sku not in stocks]
    wants = [max(by_mix[i], math.ceil(OVERSUBSCRIPTION * stocks[variants[i].sku])) for i in limited]
    if limited and (sum(wants) > count or not open_ended):
        # Every limited variant's mix share is in `wants`, so they cover `count` between them.
        wants = apportion(count, wants)
    counts = [0] * len(variants)
    for i, n in zip(limited, wants, strict=True):
        counts[i] = n
    if open_ended:
        rest = apportion(count - sum(wants), [variants[i].mix for i in open_ended])
        for i, n in zip(open_ended, rest, strict=True):
            counts[i] = n
    return counts


def choose_variants(
    variants: Sequence[ScenarioVariant],
    count: int,
    stocks: dict[str, int],
    rng: random.Random,
) -> tuple[list[str], list[str | None]]:
    """Each of `count` buyers' first choice, in arrival order, and a fallback for a limited one.

    Limited runs' seekers are drawn among the earliest arrivals; the built-to-order
    choices are shuffled over the rest. A seeker's fallback is a built-to-order
    variant by mix, or None when there is none.
    """
    counts = first_choice_counts(variants, count, stocks)
    chosen: list[str | None] = [None] * count
    free = list(range(count))  # arrivals not yet given a limited run, earliest first
    for v, n in zip(variants, counts, strict=True):
        if v.sku not in stocks or n == 0:
            continue
        seekers = set(rng.sample(free[: min(len(free), SEEKER_WINDOW * n)], n))
        for j in seekers:
            chosen[j] = v.sku
        free = [j for j in free if j not in seekers]
    rest = [
        v.sku
        for v, n in zip(variants, counts, strict=True)
        if v.sku not in stocks
        for _ in range(n)
    ]
    rng.shuffle(rest)
    for j, sku in zip(free, rest, strict=True):
        chosen[j] = sku
    skus = [sku for sku in chosen if sku is not None]
    assert len(skus) == count  # the counts sum to `count`
    open_ended = [v for v in variants if v.sku not in stocks]
    weights = [v.mix for v in open_ended]
    if math.fsum(weights) <= 0:
        weights = [1.0] * len(open_ended)
    fallbacks: list[str | None] = [
        rng.choices(open_ended, weights)[0].sku if sku in stocks and open_ended else None
        for sku in skus
    ]
    return skus, fallbacks


def expected_skus(
    skus: Sequence[str], fallbacks: Sequence[str | None], stocks: dict[str, int]
) -> list[str | None]:
    """What each buyer (in arrival order) should get: a limited run goes to its first buyers."""
    sold: Counter[str] = Counter()
    out: list[str | None] = []
    for sku, fallback in zip(skus, fallbacks, strict=True):
        stock = stocks.get(sku)
        if stock is None or sold[sku] < stock:
            sold[sku] += 1
            out.append(sku)
        else:
            out.append(fallback)
    return out


def _population(
    size: int, orders: int, registrations: int, rng: random.Random
) -> tuple[list[int], set[int]]:
    """Which customers buy (in arrival order) and which register, overlapping all they can."""
    if registrations >= orders:
        return rng.sample(range(size), orders), set(range(size))
    buyers = list(range(size))
    rng.shuffle(buyers)
    return buyers, set(rng.sample(range(size), registrations))


def assign_profiles(
    scenario: Scenario,
    size: int,
    buyers: set[int],
    registered: set[int],
    rng: random.Random,
) -> list[ProfileSpec]:
    """Each customer's profile, with the scenario's shares met exactly within each group."""
    first_car: list[bool | None] = [None] * size
    new_to_brand: list[bool | None] = [None] * size
    phones: list[Phone | None] = [None] * size
    interest, buyer_shares = scenario.interest, scenario.buyers
    apple = None if buyer_shares is None else buyer_shares.apple_users
    # Separate groups so each share is exact where it was measured: interest shares over
    # registrants, the iPhone share over buyers.
    groups = (
        [i for i in range(size) if i in registered and i in buyers],
        [i for i in range(size) if i in registered and i not in buyers],
        [i for i in range(size) if i not in registered],
    )
    for group in groups:
        if interest is not None:
            _fill(first_car, group, interest.first_car_with_brand, rng)
            _fill(new_to_brand, group, interest.new_to_brand, rng)
        if apple is not None:
            ios = quota_flags(len(group), apple, rng)
            rest = [i for i, flag in zip(group, ios, strict=True) if not flag]
            other = quota_flags(len(rest), OTHER_PHONE_SHARE, rng)
            for i, flag in zip(group, ios, strict=True):
                if flag:
                    phones[i] = "ios"
            for i, flag in zip(rest, other, strict=True):
                phones[i] = "other" if flag else "android"
    return [_profile(first_car[i], new_to_brand[i], phones[i]) for i in range(size)]


def _fill(
    values: list[bool | None], group: Sequence[int], share: float | None, rng: random.Random
) -> None:
    if share is None:
        return
    for i, flag in zip(group, quota_flags(len(group), share, rng), strict=True):
        values[i] = flag


@functools.cache
def _profile(first_car: bool | None, new_to_brand: bool | None, phone: Phone | None) -> ProfileSpec:
    # A handful of distinct profiles covers everyone: share the (immutable) values.
    return ProfileSpec(first_car_with_brand=first_car, new_to_brand=new_to_brand, phone=phone)


def registration_times(
    size: int, registered: set[int], window_seconds: float, rng: random.Random
) -> list[float | None]:
    """Each registrant's time, uniform over the window before opening; None for the rest."""
    # 1 - random() is in (0, 1]: times fall in [-window, 0), strictly before the opening.
    return [
        -window_seconds * (1.0 - rng.random()) if i in registered else None for i in range(size)
    ]


def _rng(seed: int, stream: str) -> random.Random:
    """An independent random stream per part, so changing one part leaves the others alone."""
    # A str seed is hashed with SHA-512 by `random`: stable across runs and platforms.
    return random.Random(f"launchday.sim:{seed}:{stream}")
