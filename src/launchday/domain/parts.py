"""When each queued car's parts are there.

Parts go to cars in queue order: of a component's units, counted as they arrive (stock
on hand first, then each week's deliveries), the first go to the first car in the queue
that uses it, whether or not that car's line has room that week. A car never loses its
parts to one behind it, which is what makes more capacity never delay anyone (see
docs/delivery.md). Units not used carry over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from launchday.domain.production_plan import Component, ProductionPlan, rate_in

Ints = NDArray[np.int64]
# A week no schedule reaches: for an order whose parts or line never come in the horizon.
NEVER = 1 << 40


@dataclass(frozen=True, slots=True)
class ComponentSupply:
    """A component's units week by week from the schedule's first week (`start`)."""

    component: Component
    start: int
    deliveries: Ints  # (suppliers, weeks): each supplier's units in each week
    there_by: Ints  # units there by the end of each week, stock on hand included

    @classmethod
    def of(cls, component: Component, start: int, end: int) -> ComponentSupply:
        weeks = range(start, end)
        deliveries = np.array(
            [[rate_in(s.supply, week) for week in weeks] for s in component.suppliers],
            dtype=np.int64,
        ).reshape(len(component.suppliers), len(weeks))
        there_by = component.on_hand + np.cumsum(deliveries.sum(axis=0))
        return cls(component, start, deliveries, there_by)

    def week_with(self, units: Ints) -> Ints:
        """The first week by whose end `units` of the component have come (NEVER if not
        in the horizon)."""
        index = np.searchsorted(self.there_by, units, side="left")
        return np.where(index < len(self.there_by), self.start + index, NEVER)

    def supplier_of(self, week: Ints, unit: Ints) -> Ints:
        """The supplier (index) that delivered the `unit`-th unit, which came in `week`;
        -1 for a unit from the stock on hand."""
        offset = week - self.start
        before = np.where(offset > 0, self.there_by[np.maximum(offset - 1, 0)], 0)
        within = unit - np.maximum(before, self.component.on_hand)
        by_supplier = np.cumsum(self.deliveries[:, offset], axis=0)
        found = (by_supplier >= within).argmax(axis=0)
        return np.where((offset == 0) & (unit <= self.component.on_hand), -1, found)


@dataclass(frozen=True, slots=True)
class ComponentDemand:
    """A component's users in queue order and the units they need, cumulatively."""

    supply: ComponentSupply
    positions: Ints  # queue positions (0-based) of the cars using the component
    needed_by: Ints  # units needed by them and every user ahead

    def needed_ahead_of(self, position: int) -> int:
        """Units the cars ahead of queue position `position` need."""
        users_ahead = int(np.searchsorted(self.positions, position, side="left"))
        return int(self.needed_by[users_ahead - 1]) if users_ahead else 0


@dataclass(frozen=True, slots=True)
class PartsReady:
    """Per order (indexed as the queue): the week its last part comes and which component
    that is (-1 when it uses none); and each component's demand, for later questions."""

    week: Ints
    component: Ints
    demands: tuple[ComponentDemand, ...]


def parts_ready(
    plan: ProductionPlan, skus: tuple[str, ...], sku: Ints, ranked: Ints, start: int, end: int
) -> PartsReady:
    """When each order's parts are there; `ranked` lists order indexes in queue order."""
    week = np.full(len(sku), start, dtype=np.int64)
    setting = np.full(len(sku), -1, dtype=np.int64)
    demands = []
    sku_in_queue_order = sku[ranked]
    for index, component in enumerate(plan.components):
        supply = ComponentSupply.of(component, start, end)
        use = np.array([component.use_by(name) for name in skus], dtype=np.int64)
        need = use[sku_in_queue_order] if len(skus) else np.zeros(0, dtype=np.int64)
        positions = np.flatnonzero(need > 0).astype(np.int64)
        needed_by = np.cumsum(need[positions])
        demands.append(ComponentDemand(supply, positions, needed_by))
        orders = ranked[positions]
        arrives = supply.week_with(needed_by)
        later = arrives > week[orders]
        week[orders[later]] = arrives[later]
        setting[orders[later]] = index
    return PartsReady(week, setting, tuple(demands))
