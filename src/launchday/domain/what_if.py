"""What a supply or capacity change would do, before it happens.

A what-if applies changes to a copy of the plan (a supplier delivers nothing for some
weeks, a line loses a share of its capacity for some weeks, a second supplier is added),
schedules the same queue under both plans and compares. Per component it also gives the
time to survive (TTS: weeks the stock and the remaining suppliers keep up with what the
lines would use) and the time to recover (TTR: weeks until the lost supply is back), after
Simchi-Levi's measures of supply-chain resilience: a component whose TTS is shorter than
its TTR delays cars.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from launchday.domain.build_queue import BuildQueue
from launchday.domain.build_schedule import Schedule, schedule
from launchday.domain.errors import ValidationFailed
from launchday.domain.parts import NEVER
from launchday.domain.production_plan import Component, ProductionPlan, Rate, Supplier, rate_in


@dataclass(frozen=True, slots=True)
class SupplierOutage:
    """`supplier` delivers nothing from `from_week` for `weeks` weeks, for every component
    it supplies (or only `component`)."""

    supplier: str
    from_week: int
    weeks: int
    component: str | None = None


@dataclass(frozen=True, slots=True)
class LineLoss:
    """`line` loses `share` (0-1) of its capacity from `from_week` for `weeks` weeks."""

    line: str
    share: float
    from_week: int
    weeks: int


@dataclass(frozen=True, slots=True)
class AddedSupplier:
    component: str
    supplier: Supplier


Change = SupplierOutage | LineLoss | AddedSupplier


@dataclass(frozen=True, slots=True)
class VariantImpact:
    """Orders of one variant: how many a change delays, by how much (in weeks), how many
    it leaves without a car in the horizon, and the build week of a new order before and
    after (None past the horizon)."""

    sku: str
    orders: int
    delayed: int
    mean_delay_weeks: float
    worst_delay_weeks: int
    never_built: int


@dataclass(frozen=True, slots=True)
class Resilience:
    """A component's time to survive and to recover, in weeks; `survive_weeks` None when
    supply keeps up over the whole horizon."""

    component: str
    survive_weeks: int | None
    recover_weeks: int
    at_risk: bool


def changed(plan: ProductionPlan, changes: tuple[Change, ...]) -> ProductionPlan:
    """The plan with the changes applied, in order; ValidationFailed names an unknown one."""
    for index, change in enumerate(changes):
        plan = _apply(plan, change, f"changes[{index}]")
    return plan


def _apply(plan: ProductionPlan, change: Change, field: str) -> ProductionPlan:
    if isinstance(change, LineLoss):
        if change.line not in {line.id for line in plan.lines}:
            raise ValidationFailed(f"the plan has no line {change.line!r}", f"{field}.line")
        keep = 1.0 - change.share
        lines = tuple(
            replace(line, capacity=_scaled(line.capacity, change.from_week, change.weeks, keep))
            if line.id == change.line
            else line
            for line in plan.lines
        )
        return replace(plan, lines=lines)
    if isinstance(change, AddedSupplier):
        component = _component(plan, change.component, f"{field}.component")
        if change.supplier.id in {s.id for s in component.suppliers}:
            raise ValidationFailed(
                f"{change.supplier.id!r} supplies {component.id!r} already", f"{field}.supplier"
            )
        grown = replace(component, suppliers=(*component.suppliers, change.supplier))
        return _with_component(plan, grown)
    if change.component is not None:
        _component(plan, change.component, f"{field}.component")
    hit = _cut_by(plan, change)
    if not hit:
        raise ValidationFailed(f"no component comes from {change.supplier!r}", f"{field}.supplier")
    for component in hit:
        suppliers = tuple(
            replace(s, supply=_scaled(s.supply, change.from_week, change.weeks, 0.0))
            if s.id == change.supplier
            else s
            for s in component.suppliers
        )
        plan = _with_component(plan, replace(component, suppliers=suppliers))
    return plan


def _component(plan: ProductionPlan, id: str, field: str) -> Component:
    for component in plan.components:
        if component.id == id:
            return component
    raise ValidationFailed(f"the plan has no component {id!r}", field)


def _with_component(plan: ProductionPlan, component: Component) -> ProductionPlan:
    return replace(
        plan, components=tuple(component if c.id == component.id else c for c in plan.components)
    )


def _scaled(rates: tuple[Rate, ...], from_week: int, weeks: int, keep: float) -> tuple[Rate, ...]:
    """The rates with those in [from_week, from_week + weeks) scaled by `keep`, rounded
    down."""
    until = from_week + weeks
    starts = sorted({r.from_week for r in rates} | {from_week, until})
    result: list[Rate] = []
    for week in starts:
        value = rate_in(rates, week)
        if from_week <= week < until:
            value = int(value * keep)
        if not result or result[-1].per_week != value:
            result.append(Rate(week, value))
    return tuple(result)


def impacts(before: Schedule, after: Schedule) -> tuple[VariantImpact, ...]:
    """Per variant, what the change from `before` to `after` does to its orders."""
    queue = before.queue
    result = []
    for index, sku in enumerate(queue.skus):
        mine = queue.sku == index
        was, now = before.week[mine], after.week[mine]
        never = (now >= NEVER) & (was < NEVER)
        delay = np.where((now < NEVER) & (was < NEVER), now - was, 0)
        late = delay > 0
        result.append(
            VariantImpact(
                sku,
                int(mine.sum()),
                int(late.sum()),
                float(delay[late].mean()) if late.any() else 0.0,
                int(delay.max()) if len(delay) else 0,
                int(never.sum()),
            )
        )
    return tuple(result)


def resilience(
    before: Schedule, after_plan: ProductionPlan, changes: tuple[Change, ...]
) -> tuple[Resilience, ...]:
    """TTS and TTR of each component a change cuts: TTS counts the weeks from the cut
    until what the lines would have used (the schedule before) outruns what still comes;
    TTR is how long the cut lasts."""
    plan, start = before.plan, before.start
    result = []
    for component, cut in _cuts(plan, changes):
        index = plan.components.index(component)
        demand = before.parts.demands[index]
        use = np.array([component.use_by(s) for s in before.queue.skus], dtype=np.int64)
        built = before.week < before.end
        weekly = np.bincount(
            (before.week[built] - start).astype(np.int64),
            weights=use[before.queue.sku[built]],
            minlength=before.end - start,
        )
        used_by = np.cumsum(weekly)
        cut_component = after_plan.components[index]
        there_by = demand.supply.of(cut_component, start, before.end).there_by
        short = np.flatnonzero(there_by < used_by)
        cut_at = max(cut.from_week, start)
        survive = int(short[0]) + start - cut_at if len(short) else None
        recover = cut.weeks - max(0, start - cut.from_week)
        at_risk = survive is not None and survive < recover
        result.append(Resilience(component.id, survive, max(recover, 0), at_risk))
    return tuple(result)


def _cuts(
    plan: ProductionPlan, changes: tuple[Change, ...]
) -> list[tuple[Component, SupplierOutage]]:
    return [
        (component, change)
        for change in changes
        if isinstance(change, SupplierOutage)
        for component in _cut_by(plan, change)
    ]


def _cut_by(plan: ProductionPlan, outage: SupplierOutage) -> list[Component]:
    """The components an outage cuts: those its supplier delivers (or only the one named)."""
    return [
        c
        for c in plan.components
        if outage.component in (None, c.id) and outage.supplier in {s.id for s in c.suppliers}
    ]


def what_if(
    plan: ProductionPlan, queue: BuildQueue, current_week: int, changes: tuple[Change, ...]
) -> tuple[Schedule, Schedule, tuple[VariantImpact, ...], tuple[Resilience, ...]]:
    """Both schedules, the impact per variant, and the resilience of each cut component."""
    after_plan = changed(plan, changes)
    before = schedule(plan, queue, current_week)
    after = schedule(after_plan, queue, current_week)
    return before, after, impacts(before, after), resilience(before, after_plan, changes)


@dataclass(frozen=True, slots=True)
class SupplierRisk:
    """What losing one supplier for `outage_weeks` from now would cost: buyer-weeks of
    delay over every queued order, orders delayed, orders left without a car in the
    horizon, and the components it supplies alone."""

    supplier: str
    components: tuple[str, ...]
    buyer_weeks: int
    orders_delayed: int
    never_built: int
    sole_source_of: tuple[str, ...]


def supplier_risks(
    plan: ProductionPlan, queue: BuildQueue, current_week: int, outage_weeks: int
) -> tuple[SupplierRisk, ...]:
    """Every supplier, the costliest loss first."""
    before = schedule(plan, queue, current_week)
    risks = []
    for supplier in sorted({s.id for c in plan.components for s in c.suppliers}):
        outage = SupplierOutage(supplier, current_week, outage_weeks)
        supplied = _cut_by(plan, outage)
        after = schedule(changed(plan, (outage,)), queue, current_week)
        both = (before.week < NEVER) & (after.week < NEVER)
        delay = np.where(both, after.week - before.week, 0)
        risks.append(
            SupplierRisk(
                supplier,
                tuple(c.id for c in supplied),
                int(delay.sum()),
                int((delay > 0).sum()),
                int(((after.week >= NEVER) & (before.week < NEVER)).sum()),
                tuple(c.id for c in supplied if len(c.suppliers) == 1),
            )
        )
    return tuple(sorted(risks, key=lambda r: (-r.never_built, -r.buyer_weeks, r.supplier)))
