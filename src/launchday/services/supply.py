"""What-ifs and supply risk over a launch's whole build queue: computed on a copy of the
plan, in a worker thread (a million orders are scheduled twice), storing nothing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from launchday.domain.build_schedule import Schedule
from launchday.domain.delivery_promise import Promise, promise_if_placed
from launchday.domain.what_if import (
    Change,
    Resilience,
    SupplierRisk,
    VariantImpact,
    supplier_risks,
    what_if,
)
from launchday.services.delivery import Deliveries

# The loss the supplier ranking weighs unless asked otherwise: the API's default and
# the dashboard's, so both answer the same question.
OUTAGE_WEEKS = 4


@dataclass(frozen=True, slots=True)
class WhatIf:
    """Per variant the impact and a new order's promise before and after; per component
    cut, its time to survive and to recover."""

    impacts: tuple[VariantImpact, ...]
    new_orders: dict[str, tuple[Promise, Promise]]
    resilience: tuple[Resilience, ...]


@dataclass(frozen=True, slots=True)
class SupplyRisk:
    suppliers: tuple[SupplierRisk, ...]
    single_sourced: tuple[str, ...]


class Supply:
    """The what-ifs and risks of every launch of one store."""

    def __init__(self, deliveries: Deliveries) -> None:
        self.deliveries = deliveries
        self.launches = deliveries.launches
        self.clock = deliveries.clock

    async def what_if(self, slug: str, changes: tuple[Change, ...]) -> WhatIf:
        """What the changes would do (ValidationFailed names an unknown line, component
        or supplier)."""
        launch = self.launches.get(slug)
        book = await self.deliveries.whole_queue(slug)
        at = launch.clock(self.clock())
        schedule = book.schedule
        before, after, impacts, resilience = await asyncio.to_thread(
            what_if, schedule.plan, schedule.queue, schedule.start, changes
        )

        def new_order(made: Schedule, sku: str) -> Promise:
            variant = launch.variant(sku)
            return promise_if_placed(made, sku, at + (variant.deposit or launch.deposit).window, at)

        built = [v.sku for v in launch.variants if schedule.plan.lines_for(v.sku)]
        new_orders = {sku: (new_order(before, sku), new_order(after, sku)) for sku in built}
        shown = tuple(i for i in impacts if i.sku in built)
        return WhatIf(shown, new_orders, resilience)

    async def risks(self, slug: str, outage_weeks: int) -> SupplyRisk:
        """Every supplier ranked by the buyer-weeks of delay losing it for `outage_weeks`
        from now would cause."""
        book = await self.deliveries.whole_queue(slug)
        schedule = book.schedule
        ranked = await asyncio.to_thread(
            supplier_risks, schedule.plan, schedule.queue, schedule.start, outage_weeks
        )
        single = tuple(c.id for c in schedule.plan.components if len(c.suppliers) == 1)
        return SupplyRisk(ranked, single)
