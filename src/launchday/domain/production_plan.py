"""A launch's production plan: the lines that build its cars, the components they use,
the suppliers of those components, and the calendar of weeks they are counted in.

Weekly figures change over time (a ramp-up, a shutdown week, a supplier's cut): each is
a list of `Rate`s, one holding from its `from_week` until the next. The rules that turn
a plan and the order queue into build weeks are in `launchday.domain.build_schedule`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from launchday.domain.errors import ValidationFailed

WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Rate:
    """So many a week from `from_week` on, until the next rate of the same list."""

    from_week: int
    per_week: int


@dataclass(frozen=True, slots=True)
class Line:
    """An assembly line and the variants it can build."""

    id: str
    skus: tuple[str, ...]
    capacity: tuple[Rate, ...]


@dataclass(frozen=True, slots=True)
class Supplier:
    id: str
    supply: tuple[Rate, ...]


@dataclass(frozen=True, slots=True)
class Component:
    """A part the cars use: how many per car of each variant, and who delivers it."""

    id: str
    per_car: tuple[tuple[str, int], ...]
    on_hand: int
    suppliers: tuple[Supplier, ...]

    def use_by(self, sku: str) -> int:
        for used_by, count in self.per_car:
            if used_by == sku:
                return count
        return 0


@dataclass(frozen=True, slots=True)
class ProductionPlan:
    """Week `n` is the seven days from `weeks_start` + 7n days, in `timezone`."""

    weeks_start: date
    timezone: str
    delivery_lag_weeks: int
    window_weeks: int
    lines: tuple[Line, ...]
    components: tuple[Component, ...] = ()
    # Variants whose orders are built ahead of all others (a limited edition, say).
    priority_skus: tuple[str, ...] = ()

    def week_of(self, moment: datetime) -> int:
        """The plan week holding this moment; negative before `weeks_start`."""
        return (self.local_date(moment) - self.weeks_start).days // 7

    def local_date(self, moment: datetime) -> date:
        """The day this moment falls on in the plan's zone."""
        return _local_date(self.timezone, int(moment.timestamp()) // 60)

    def week_start(self, week: int) -> date:
        return self.weeks_start + week * WEEK

    def lines_for(self, sku: str) -> tuple[Line, ...]:
        return tuple(line for line in self.lines if sku in line.skus)

    def components_for(self, sku: str) -> tuple[tuple[Component, int], ...]:
        """The components a car of this variant uses, with how many of each."""
        used = ((component, component.use_by(sku)) for component in self.components)
        return tuple((component, count) for component, count in used if count > 0)


@lru_cache(maxsize=4096)
def _local_date(zone: str, minute: int) -> date:
    """The local day of a minute since the epoch. Every order placed and every promise
    asks it, mostly of the same few minutes, and a zone conversion costs microseconds;
    days change on a minute boundary in every zone, so the minute is exact."""
    return datetime.fromtimestamp(minute * 60, ZoneInfo(zone)).date()


def rate_in(rates: tuple[Rate, ...], week: int) -> int:
    """The weekly figure in force in `week`: nothing before the first rate."""
    current = 0
    for rate in rates:
        if rate.from_week > week:
            break
        current = rate.per_week
    return current


def validate_plan(plan: ProductionPlan, skus: Iterable[str], built_to_order: Iterable[str]) -> None:
    """Refuse a plan that names what the launch does not sell, leaves a build-to-order
    variant without a line, or whose periods overlap; raises ValidationFailed."""
    known = set(skus)
    try:
        ZoneInfo(plan.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"unknown time zone {plan.timezone!r}", "timezone") from None
    _unique((line.id for line in plan.lines), "lines", "line")
    _unique((component.id for component in plan.components), "components", "component")
    for i, line in enumerate(plan.lines):
        where = f"lines[{i}]"
        _known_skus(line.skus, known, f"{where}.skus")
        _unique(line.skus, f"{where}.skus", "SKU")
        _ordered(line.capacity, f"{where}.capacity")
    for i, component in enumerate(plan.components):
        where = f"components[{i}]"
        _known_skus((sku for sku, _ in component.per_car), known, f"{where}.per_car")
        _unique((supplier.id for supplier in component.suppliers), f"{where}.suppliers", "supplier")
        for j, supplier in enumerate(component.suppliers):
            _ordered(supplier.supply, f"{where}.suppliers[{j}].supply")
    _known_skus(plan.priority_skus, known, "priority_skus")
    for sku in built_to_order:
        if not plan.lines_for(sku):
            raise ValidationFailed(f"no line builds variant {sku!r}", "lines")


def _known_skus(skus: Iterable[str], known: set[str], field: str) -> None:
    for sku in skus:
        if sku not in known:
            raise ValidationFailed(f"the launch has no variant {sku!r}", field)


def _unique(ids: Iterable[str], field: str, what: str) -> None:
    seen: set[str] = set()
    for id in ids:
        if id in seen:
            raise ValidationFailed(f"{what} {id!r} is named twice", field)
        seen.add(id)


def _ordered(rates: tuple[Rate, ...], field: str) -> None:
    """Each rate holds until the next, so two from the same week would overlap."""
    for before, after in pairwise(rates):
        if after.from_week <= before.from_week:
            raise ValidationFailed(
                f"periods overlap: week {after.from_week} comes after week {before.from_week}",
                field,
            )
