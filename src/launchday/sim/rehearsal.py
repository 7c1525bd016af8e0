"""A rehearsal: create a scenario's launch on a server, load its interest, replay its night.

The defaults keep a rehearsal near `TARGET_REPLAY_SECONDS` of real time on a small
machine: the speed (the launch's `time_scale`) fits the replayed span into that time,
and the scale keeps the peak request rate, which the speed multiplies, under
`PEAK_BUDGET_PER_SECOND`.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import msgspec

from launchday.api.payments_wire import PaymentsSpec
from launchday.api.wire import AdmissionSpec
from launchday.domain.clock import rfc3339
from launchday.sim.admission_plan import (
    DEFAULT_TOKEN_TTL,
    LAPSE_SHARE,
    Lapse,
    QueueModel,
    admission_shortfalls,
    default_admission_rate,
    default_token_ttl,
    minimum_admission_rate,
    peak_rate,
    plan_lapses,
    pre_queue_drained,
    pre_queue_span,
)
from launchday.sim.customers import (
    Event,
    SimCustomer,
    generate_customers,
    registrations,
    timeline,
)
from launchday.sim.delivery_quotes import QuoteCheck, quote_checks
from launchday.sim.driver import LoadDriver
from launchday.sim.milestone_fidelity import (
    TOLERANCE_ORDERS,
    TOLERANCE_SHARE,
    MilestoneCheck,
    milestone_checks,
)
from launchday.sim.replay_stats import ReplayStats
from launchday.sim.retail_rehearsal import RehearsalStores, RetailOutcome, RetailPlan, plan_retail
from launchday.sim.scenario import Milestone, Scenario, launch_spec
from launchday.sim.scenario_production import quote_moment, replay_plan
from launchday.sim.server_calls import clock_skew, import_registrations, payments_settled

TARGET_REPLAY_SECONDS = 90.0
PEAK_BUDGET_PER_SECOND = 2000.0
# A buyer through a waiting room writes twice (the join, then the order).
WRITES_PER_BUYER_IN_ROOM = 2
# Tokens signed before the opening: enough for the first burst.
WARM_TOKENS = 20_000
# Real time between the opening and the first milestone, at least (see default_speed).
FIRST_MILESTONE_REAL_SECONDS = 0.1
# The longest hold a launch takes (PaymentsSpec), in launch minutes.
MAX_HOLD_MINUTES = 10_080.0


def default_until(scenario: Scenario) -> float:
    """Replay up to the scenario's last order milestone."""
    return scenario.milestones[-1].after_seconds


def default_speed(
    until: float, replay_seconds: float = TARGET_REPLAY_SECONDS, first_milestone: float = math.inf
) -> float:
    """A speed that replays `until` launch seconds in about `replay_seconds`, but leaves
    the first milestone FIRST_MILESTONE_REAL_SECONDS of real time: the buyers due by then
    need a few round trips after the opening (the pre-queue can send nothing early)."""
    return max(1.0, min(until / replay_seconds, first_milestone / FIRST_MILESTONE_REAL_SECONDS))


def default_scale(
    scenario: Scenario, speed: float, *, waiting_room: bool = False, pay: bool = False
) -> float:
    """The largest scale (at most 1) whose peak requests stay under PEAK_BUDGET_PER_SECOND:
    an order each, or through a waiting room a join and an order each (two writes); and
    when the deposits are paid, the payment and its webhook's write besides."""
    requests = (WRITES_PER_BUYER_IN_ROOM if waiting_room else 1) + (2 if pay else 0)
    scale = PEAK_BUDGET_PER_SECOND / (peak_rate(scenario) * speed * requests)
    # Two significant digits read better in a report than 0.0137254...
    digits = max(0, 1 - math.floor(math.log10(scale))) if scale < 1 else 0
    return min(1.0, round(scale, digits))


@dataclass(frozen=True, slots=True)
class RehearsalOptions:
    scenario: Scenario
    speed: float
    scale: float
    until: float
    seed: int = 1
    slug: str | None = None
    connections: int = 64
    # A waiting room admitting this many buyers per launch second; None: no waiting room.
    admission_rate: float | None = None
    token_ttl_seconds: int = DEFAULT_TOKEN_TTL
    rejoin_grace_seconds: int | None = None  # None: as long as the token lives
    # The share of buyers who let an admission lapse and come back (see admission_plan).
    lapse_share: float = 0.0
    # Every deposit paid through the built-in rehearsal provider (docs/payments.md).
    pay: bool = False

    @property
    def pre_queue_seconds(self) -> float:
        """Buyers due by then are waiting when orders open (with a waiting room)."""
        return pre_queue_span(self.scenario) if self.admission_rate else 0.0

    @property
    def grace_seconds(self) -> int:
        """How long after a token expired a buyer who comes back keeps the place."""
        if self.rejoin_grace_seconds is None:
            return self.token_ttl_seconds
        return self.rejoin_grace_seconds


@dataclass(frozen=True, slots=True)
class RehearsalResult:
    slug: str
    options: RehearsalOptions
    opens_at: datetime
    registrations: int
    stats: ReplayStats
    report: dict[str, Any]
    checks: list[MilestoneCheck]
    # A new order's delivery quotes beside the published ones (scenarios with a plan).
    quotes: list[QuoteCheck] = field(default_factory=list)
    retail: RetailOutcome | None = None  # what the stores did (scenarios with [retail])

    @property
    def stored_orders(self) -> int:
        return int(self.report["orders"]["total"])

    @property
    def kept_up(self) -> bool:
        return self.stats.late == 0

    @property
    def problems(self) -> list[str]:
        """Why this rehearsal failed; empty when it held."""
        found = []
        if self.stored_orders != self.stats.orders_acked:
            found.append(
                f"{self.stats.orders_acked} orders acknowledged but {self.stored_orders} stored"
            )
        unreachable = self.stats.refusals.get("unreachable", 0)
        internal = self.stats.refusals.get("internal", 0)
        if unreachable or internal:
            found.append(f"{unreachable} requests unanswered, {internal} server errors")
        for check in self.checks:
            if check.kind == "orders" and not check.within_tolerance:
                found.append(
                    f"{check.kind} at {check.after_seconds:g}s: {check.replayed} replayed,"
                    f" {check.expected} expected"
                )
        for said in self.quotes:
            if not said.within_tolerance:
                found.append(f"{said.sku} quoted {said.quoted} weeks, {said.published} published")
        return found


def plan_options(
    scenario: Scenario,
    *,
    speed: float | None = None,
    scale: float | None = None,
    until: float | None = None,
    seed: int = 1,
    slug: str | None = None,
    waiting_room: bool = False,
    admission_rate: float | None = None,
    lapse_share: float | None = None,
    replay_seconds: float = TARGET_REPLAY_SECONDS,
    pay: bool = False,
) -> RehearsalOptions:
    """Fill in the defaults that keep a rehearsal short on a small machine and follow the
    scenario's curve through the waiting room (launchday.sim.admission_plan)."""
    span = default_until(scenario) if until is None else until
    first = scenario.milestones[0].after_seconds
    chosen_speed = default_speed(span, replay_seconds, first) if speed is None else speed
    room = waiting_room or admission_rate is not None
    chosen_scale = (
        default_scale(scenario, chosen_speed, waiting_room=room, pay=pay)
        if scale is None
        else scale
    )
    rate = admission_rate
    if rate is None and waiting_room:
        rate = default_admission_rate(scenario, chosen_scale)
    lapses = (LAPSE_SHARE if lapse_share is None else lapse_share) if rate else 0.0
    return RehearsalOptions(
        scenario,
        chosen_speed,
        chosen_scale,
        span,
        seed,
        slug,
        admission_rate=rate,
        token_ttl_seconds=default_token_ttl(chosen_speed),
        lapse_share=lapses,
        pay=pay,
    )


class AdmissionTooSlow(ValueError):
    """The rehearsal's admission rate cannot meet its scenario's milestones."""


@dataclass(frozen=True, slots=True)
class RehearsalPlan:
    """Everything a rehearsal will send, drawn before it starts."""

    options: RehearsalOptions
    registered: list[SimCustomer]
    events: list[Event]
    lapses: dict[str, Lapse]
    retail: RetailPlan | None = None  # the stores' part, for a scenario with [retail]

    @property
    def orders(self) -> int:
        return sum(1 for event in self.events if event.kind == "order")


def plan_rehearsal(options: RehearsalOptions) -> RehearsalPlan:
    """Draw the crowd and the timeline up to `until` (the same for the same seed).

    With a waiting room, raises AdmissionTooSlow when its rate cannot meet the
    scenario's milestones, naming the rate that would.
    """
    crowd = generate_customers(options.scenario, scale=options.scale, seed=options.seed)
    events = [e for e in timeline(crowd) if e.at <= options.until]
    lapses: dict[str, Lapse] = {}
    if options.admission_rate is not None:
        lapses = _plan_room(options, crowd.milestones, events)
    retail = plan_retail(options.scenario, events, options.seed)
    return RehearsalPlan(options, registrations(crowd), events, lapses, retail)


def _plan_room(
    options: RehearsalOptions, milestones: tuple[Milestone, ...], events: list[Event]
) -> dict[str, Lapse]:
    """Who lapses and comes back; and the check that the rate meets every milestone."""
    rate = options.admission_rate
    assert rate is not None
    ttl, grace = options.token_ttl_seconds, options.grace_seconds
    buyers = [
        (e.customer.id, e.at)
        for e in events
        if e.kind == "order" and e.customer.order and e.customer.order.expected_sku
    ]
    drained = pre_queue_drained([at for _, at in buyers], options.pre_queue_seconds, rate)
    lapses = plan_lapses(
        buyers,
        options.lapse_share,
        ttl=ttl,
        grace=grace,
        not_before=max(options.pre_queue_seconds, drained),
        rng=random.Random(f"launchday.sim:{options.seed}:lapses"),
    )
    reached = [m for m in milestones if m.after_seconds <= options.until]
    room = QueueModel(options.pre_queue_seconds, ttl, grace, lapses)
    missed = admission_shortfalls(buyers, reached, room, rate, (TOLERANCE_SHARE, TOLERANCE_ORDERS))
    if missed:
        # The rate to suggest meets every milestone with half the tolerance to spare.
        half = (TOLERANCE_SHARE / 2, TOLERANCE_ORDERS // 2)
        works = minimum_admission_rate(buyers, reached, room, half)
        first = missed[0]
        raise AdmissionTooSlow(
            f"an admission rate of {rate:g}/s cannot meet this scenario: by"
            f" {first.after_seconds:g} s it lets {first.ordered:,} of the {first.expected:,}"
            f" orders through ({len(missed)} milestone(s) missed); use --admission-rate"
            f" {works:g} or more"
        )
    return lapses


Tick = Callable[[str, ReplayStats | None], Awaitable[None] | None]


async def rehearse(
    base_url: str,
    admin_key: str,
    token_for: Callable[[str], str],
    plan: RehearsalPlan,
    on_tick: Tick | None = None,
) -> RehearsalResult:
    """Create the launch, import its interest, replay its orders; return the stored report."""
    options = plan.options
    scenario = options.scenario
    events = plan.events
    registered = plan.registered
    admin = {"Authorization": f"Bearer {admin_key}"}

    async def tick(phase: str, stats: ReplayStats | None = None) -> None:
        if on_tick is not None:
            result = on_tick(phase, stats)
            if result is not None:
                await result

    async with LoadDriver(
        base_url,
        options.slug or scenario.slug,
        token_for,
        connections=options.connections,
        waiting_room=options.admission_rate is not None,
        pre_queue_seconds=options.pre_queue_seconds,
        lapses=plan.lapses,
        pay=options.pay,
    ) as driver:
        skew = await clock_skew(driver)
        # Time enough to import the registrations before the opening minute.
        lead = 2.0 + len(registered) / 25_000
        opens_at = (datetime.now(UTC) + skew + timedelta(seconds=lead)).replace(microsecond=0)
        opens_at += timedelta(seconds=1)
        spec = launch_spec(
            scenario,
            opens_at=opens_at,
            time_scale=options.speed,
            scale=options.scale,
            slug=options.slug,
        )
        if options.admission_rate is not None:
            spec = msgspec.structs.replace(
                spec,
                admission=AdmissionSpec(
                    options.admission_rate, options.token_ttl_seconds, options.grace_seconds
                ),
            )
        if options.pay:
            # A hold of at least a minute of real time (launch minutes pass fast at speed).
            hold = min(MAX_HOLD_MINUTES, max(15.0, options.speed))
            spec = msgspec.structs.replace(spec, payments=PaymentsSpec("rehearsal", hold))
        await tick("creating the launch")
        status, answer = await driver.request(
            "POST", "/api/v1/launches", body=msgspec.to_builtins(spec), headers=admin
        )
        if status != 201:
            raise RuntimeError(f"the server refused the launch: {status} {answer}")
        production = scenario.production
        if production is not None:
            await tick("putting the production plan")
            plan_body = replay_plan(production, options.scale, opens_at - scenario.opens_at)
            status, answer = await driver.request(
                "PUT", f"/api/v1/launches/{spec.slug}/production", body=plan_body, headers=admin
            )
            if status != 200:
                raise RuntimeError(f"the server refused the production plan: {status} {answer}")
        stores = RehearsalStores(plan.retail, driver, spec.slug, admin)
        if stores.active:
            await tick("opening the stores")
            await stores.open()
        await tick("importing registrations")
        await import_registrations(driver, spec.slug, registered, opens_at, admin)
        if stores.active:
            await tick("booking test drives before the opening")
            await stores.book_before()
        await tick("warming up")
        await driver.warm_up(event.customer.id for event in events[:WARM_TOKENS])
        await tick("orders open")
        # Read again on a warm server: the opening's orders must not arrive before it.
        skew = await clock_skew(driver)
        opens_in = (opens_at - (datetime.now(UTC) + skew)).total_seconds()

        asked = 0.0

        async def on_replay_tick(stats: ReplayStats) -> None:
            nonlocal asked
            if options.admission_rate is not None and time.monotonic() - asked >= 0.5:
                asked = time.monotonic()
                status, room = await driver.request(
                    "GET", f"/api/v1/launches/{spec.slug}/admission", headers=admin
                )
                if status == 200:
                    stats.queue_waiting = int(room["waiting"])
            await tick("replaying", stats)

        stats = await driver.replay(
            events,
            opens_at=opens_at,
            opens_in=opens_in,
            speed=options.speed,
            on_tick=on_replay_tick,
        )
        # The report's last milestone counts once the launch clock has reached it.
        end = (opens_at + timedelta(seconds=options.until / options.speed)) - (
            datetime.now(UTC) + skew
        )
        await asyncio.sleep(max(0.0, end.total_seconds()) + 0.05)
        if stores.active:
            await tick("booking test drives after the opening")
            await stores.book_after()
        if options.pay:
            await tick("waiting for the payments' webhooks")
            await payments_settled(driver, spec.slug, admin)
        await tick("reading the report")
        status, report = await driver.request(
            "GET", f"/api/v1/launches/{spec.slug}/report", headers=admin
        )
        if status != 200:
            raise RuntimeError(f"the server refused the report: {status} {report}")

        # The published waits were quoted to buyers behind the whole night's orders: a
        # replay that stops short of them has fewer ahead, so it is not held to them.
        whole_night = options.until >= scenario.last_milestone_seconds
        moment = (
            quote_moment(production, scenario.opens_at, opens_at)
            if production is not None and whole_night
            else None
        )
        quotes: list[QuoteCheck] = []
        if moment is not None:
            status, answer = await driver.request(
                "GET", f"/api/v1/launches/{spec.slug}/delivery?at={quote(rfc3339(moment))}"
            )
            if status != 200:
                raise RuntimeError(f"the server refused the delivery quotes: {status} {answer}")
            quotes = quote_checks(scenario, answer)

    checks = milestone_checks(
        scenario, report, scale=options.scale, speed=options.speed, until=options.until,
        stamps=stats.stamps,
    )  # fmt: skip
    return RehearsalResult(
        spec.slug, options, opens_at, len(registered), stats, report, checks, quotes,
        stores.outcome,
    )  # fmt: skip
