"""Launch scenarios: a published launch as frozen values, and what a replay derives from it.

Reading and checking a scenario file is `scenario_file`; its format is described in
`docs/scenarios.md`. Here are the values and the scaled figures and `LaunchSpec`
that a replay of them uses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

import msgspec

from launchday.api.wire import DepositSpec, LaunchSpec, VariantSpec
from launchday.domain.production_plan import ProductionPlan

# The API's bounds (api/wire.py), checked here so a scenario fails on load, not on replay.
MAX_SECONDS: Final = 31_622_400
MAX_HOURS: Final = 8784
MAX_MONEY: Final = 1_000_000_000_000
MAX_WEEKS: Final = 520


class ScenarioError(ValueError):
    """A scenario that cannot be used: which file, which field, which line, and why."""

    def __init__(
        self, reason: str, *, file: str, field: str | None = None, line: int | None = None
    ) -> None:
        self.reason = reason
        self.file = file
        self.field = field
        self.line = line
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {field}: {reason}" if field else f"{where}: {reason}")


@dataclass(frozen=True, slots=True)
class Milestone:
    """A cumulative count `after_seconds` after opening, and where the figure comes from."""

    after_seconds: float
    orders: int
    source: str


@dataclass(frozen=True, slots=True)
class ScenarioDeposit:
    """The launch's deposit: paid at order time, refundable for `refundable_hours`."""

    amount: int
    refundable_hours: float


@dataclass(frozen=True, slots=True)
class ScenarioVariant:
    """One variant; `mix` is resolved (equal shares when absent) and the mixes sum to 1."""

    sku: str
    name: str
    price: int
    mix: float
    stock: int | None = None
    lead_weeks: tuple[int, int] | None = None
    deposit: int | None = None
    refundable_hours: float | None = None


@dataclass(frozen=True, slots=True)
class InterestShares:
    """Registrations of interest before opening, and who registered."""

    window_seconds: float
    registrations: int
    first_car_with_brand: float | None = None
    new_to_brand: float | None = None
    relative_to: str | None = None
    ratio: float | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class BuyerShares:
    """Who the buyers were."""

    apple_users: float | None = None
    women: float | None = None
    mean_age: float | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class ScenarioProduction:
    """The launch's production plan (at full scale), and the day its variants'
    `lead_weeks` were reported: a replay quotes a new order placed that day."""

    plan: ProductionPlan
    quotes_on: date | None = None


@dataclass(frozen=True, slots=True)
class ScenarioRetail:
    """The brand's stores at the launch, as counts (the network is generated from them:
    launchday.sim.store_network), how they are run, and the buyers' use of them: the
    share of orders placed in stores and of buyers who book a test drive, and of those
    the share who book before the opening (docs/scenarios.md, "[retail]")."""

    brand: str
    sales_stores: int
    delivery_centres: int
    service_centres: int
    cities: int
    timezone: str = "Asia/Shanghai"
    opens: str = "10:00"
    closes: str = "22:00"
    demo_cars: int = 4
    test_drive_minutes: int = 30
    handover_bays: int = 6
    logistics_weeks: int = 1
    plant_region: str | None = None  # delivery centres there are 0 weeks from the plant
    store_order_share: float = 0.0
    test_drive_share: float = 0.0
    before_opening_share: float = 0.5


@dataclass(frozen=True, slots=True)
class SourceNote:
    """Where a published figure comes from."""

    fact: str
    where: str | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    """A launch as published: what was sold, and the order and lock counts over time."""

    file: str
    slug: str
    name: str
    currency: str
    opens_at: datetime
    per_customer_limit: int
    deposit: ScenarioDeposit
    variants: tuple[ScenarioVariant, ...]
    milestones: tuple[Milestone, ...]
    locks: tuple[Milestone, ...] = ()
    cancel_share: float = 0.0
    interest: InterestShares | None = None
    buyers: BuyerShares | None = None
    sources: tuple[SourceNote, ...] = ()
    production: ScenarioProduction | None = None
    retail: ScenarioRetail | None = None

    @property
    def last_milestone_seconds(self) -> float:
        """When the last order milestone falls: how far a replay goes by default."""
        return self.milestones[-1].after_seconds


# --- what a replay derives from a scenario -----------------------------------------------


def scaled_count(count: int, scale: float) -> int:
    """A count multiplied by `scale`, rounded half up (monotone, so order is kept)."""
    return math.floor(count * scale + 0.5)


def scaled_stock(stock: int, scale: float) -> int:
    """A limited run multiplied by `scale`: rounded, and at least one unit (none stays none)."""
    return 0 if stock == 0 else max(1, scaled_count(stock, scale))


def scaled_milestones(scenario: Scenario, scale: float) -> tuple[Milestone, ...]:
    """The order milestones with counts multiplied by `scale` and rounded."""
    return _scale(scenario.milestones, scale)


def scaled_locks(scenario: Scenario, scale: float) -> tuple[Milestone, ...]:
    """The lock milestones with counts multiplied by `scale` and rounded."""
    return _scale(scenario.locks, scale)


def _scale(milestones: Sequence[Milestone], scale: float) -> tuple[Milestone, ...]:
    _check_scale(scale)
    return tuple(
        Milestone(m.after_seconds, scaled_count(m.orders, scale), m.source) for m in milestones
    )


def variant_deposit(scenario: Scenario, variant: ScenarioVariant) -> ScenarioDeposit:
    """The variant's deposit and window: its own where given, else the launch's."""
    return ScenarioDeposit(
        amount=scenario.deposit.amount if variant.deposit is None else variant.deposit,
        refundable_hours=(
            scenario.deposit.refundable_hours
            if variant.refundable_hours is None
            else variant.refundable_hours
        ),
    )


def launch_spec(
    scenario: Scenario,
    *,
    opens_at: datetime,
    time_scale: float,
    scale: float,
    slug: str | None = None,
) -> LaunchSpec:
    """The `POST /api/v1/launches` body replaying `scenario`, checked against the API bounds."""
    if opens_at.tzinfo is None:
        raise ValueError("opens_at needs a time zone")
    if not (time_scale > 0 and math.isfinite(time_scale)):
        raise ValueError("time_scale must be a positive number")
    _check_scale(scale)
    spec = LaunchSpec(
        slug=scenario.slug if slug is None else slug,
        name=scenario.name,
        currency=scenario.currency,
        opens_at=opens_at,
        deposit=DepositSpec(scenario.deposit.amount, scenario.deposit.refundable_hours),
        variants=[_variant_spec(scenario, v, scale) for v in scenario.variants],
        per_customer_limit=scenario.per_customer_limit,
        time_scale=time_scale,
        interest_opens_at=(
            None
            if scenario.interest is None
            else opens_at - timedelta(seconds=scenario.interest.window_seconds)
        ),
        admission=None,
        report_milestones=report_milestones(scenario),
    )
    # Struct constructors do not check `Meta` bounds; a round trip does (e.g. a bad slug).
    return msgspec.convert(msgspec.to_builtins(spec), LaunchSpec)


def report_milestones(scenario: Scenario) -> list[int]:
    """The scenario's order and lock milestone times, in whole seconds, sorted, once each."""
    times = {max(1, round(m.after_seconds)) for m in (*scenario.milestones, *scenario.locks)}
    return sorted(times)


def _variant_spec(scenario: Scenario, variant: ScenarioVariant, scale: float) -> VariantSpec:
    overridden = variant.deposit is not None or variant.refundable_hours is not None
    own = variant_deposit(scenario, variant)
    return VariantSpec(
        sku=variant.sku,
        name=variant.name,
        price=variant.price,
        stock=None if variant.stock is None else scaled_stock(variant.stock, scale),
        deposit=DepositSpec(own.amount, own.refundable_hours) if overridden else None,
        lead_weeks=None if variant.lead_weeks is None else list(variant.lead_weeks),
    )


def _check_scale(scale: float) -> None:
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError("scale must be a positive number")
