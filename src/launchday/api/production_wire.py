"""Wire types of production and delivery: the plan's body, the delivery promise on an
order, the quotes for new orders and the promise changes. Names as in docs/api.md."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from launchday.api.wire import DeliveryEstimate, Sku
from launchday.domain.production_plan import Component, Line, ProductionPlan, Rate, Supplier

_STRICT = {"frozen": True, "forbid_unknown_fields": True, "omit_defaults": False}

Id = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(?!\n)$")]
Week = Annotated[int, Meta(ge=0, le=520, description="plan week, 0 from weeks_start")]
PerWeek = Annotated[int, Meta(ge=0, le=10_000_000)]


class CapacitySpec(msgspec.Struct, **_STRICT):
    """Cars a week from `from_week` until the line's next entry."""

    from_week: Week
    cars_per_week: PerWeek


class LineSpec(msgspec.Struct, **_STRICT):
    id: Id
    skus: Annotated[list[Sku], Meta(min_length=1, max_length=100)]
    capacity: Annotated[list[CapacitySpec], Meta(min_length=1, max_length=520)]


class SupplySpec(msgspec.Struct, **_STRICT):
    """Units a week from `from_week` until the supplier's next entry."""

    from_week: Week
    units_per_week: PerWeek


class SupplierSpec(msgspec.Struct, **_STRICT):
    id: Id
    supply: Annotated[list[SupplySpec], Meta(min_length=1, max_length=520)]


class ComponentSpec(msgspec.Struct, **_STRICT):
    """A part: how many each car of a variant uses, the stock on hand, its suppliers."""

    id: Id
    per_car: dict[Sku, Annotated[int, Meta(ge=1, le=1000)]]
    suppliers: Annotated[list[SupplierSpec], Meta(max_length=50)]
    on_hand: Annotated[int, Meta(ge=0, le=1_000_000_000)] = 0


class ProductionSpec(msgspec.Struct, **_STRICT):
    """The body of `PUT /api/v1/launches/{slug}/production` (rules: docs/delivery.md)."""

    weeks_start: date
    timezone: Annotated[str, Meta(min_length=1, max_length=64, description="IANA time zone")]
    lines: Annotated[list[LineSpec], Meta(min_length=1, max_length=100)]
    delivery_lag_weeks: Annotated[int, Meta(ge=0, le=104)] = 0
    window_weeks: Annotated[int, Meta(ge=0, le=52)] = 3
    components: Annotated[list[ComponentSpec], Meta(max_length=200)] = []
    priority_skus: Annotated[list[Sku], Meta(max_length=100)] = []


class VariantQuote(msgspec.Struct, frozen=True):
    sku: str
    estimate: DeliveryEstimate


class DeliveryQuotes(msgspec.Struct, frozen=True):
    """What a new order of each build-to-order variant would be promised if placed `at`."""

    launch: str
    at: datetime
    variants: list[VariantQuote]
    centre: str | None = None  # the delivery centre quoted at, if one was asked for


class DeliveryChange(msgspec.Struct, frozen=True):
    """An order whose promise moved by a week or more, and why."""

    order: str
    at: str
    cause: str
    old_weeks: list[int] | None
    new_weeks: list[int] | None


class DeliveryChanges(msgspec.Struct, frozen=True):
    launch: str
    changes: list[DeliveryChange]


def plan_from_spec(spec: ProductionSpec) -> ProductionPlan:
    """The domain plan of a body (its cross-field rules: `validate_plan`)."""
    return ProductionPlan(
        weeks_start=spec.weeks_start,
        timezone=spec.timezone,
        delivery_lag_weeks=spec.delivery_lag_weeks,
        window_weeks=spec.window_weeks,
        lines=tuple(
            Line(
                line.id,
                tuple(line.skus),
                tuple(Rate(c.from_week, c.cars_per_week) for c in line.capacity),
            )
            for line in spec.lines
        ),
        components=tuple(
            Component(
                c.id,
                tuple(c.per_car.items()),
                c.on_hand,
                tuple(supplier_from_spec(s) for s in c.suppliers),
            )
            for c in spec.components
        ),
        priority_skus=tuple(spec.priority_skus),
    )


def supplier_from_spec(spec: SupplierSpec) -> Supplier:
    return Supplier(spec.id, tuple(Rate(r.from_week, r.units_per_week) for r in spec.supply))


def spec_from_plan(plan: ProductionPlan) -> ProductionSpec:
    return ProductionSpec(
        weeks_start=plan.weeks_start,
        timezone=plan.timezone,
        delivery_lag_weeks=plan.delivery_lag_weeks,
        window_weeks=plan.window_weeks,
        lines=[
            LineSpec(
                line.id,
                list(line.skus),
                [CapacitySpec(r.from_week, r.per_week) for r in line.capacity],
            )
            for line in plan.lines
        ],
        components=[
            ComponentSpec(
                id=c.id,
                per_car=dict(c.per_car),
                suppliers=[
                    SupplierSpec(s.id, [SupplySpec(r.from_week, r.per_week) for r in s.supply])
                    for s in c.suppliers
                ],
                on_hand=c.on_hand,
            )
            for c in plan.components
        ],
        priority_skus=list(plan.priority_skus),
    )


class SupplierOutageSpec(msgspec.Struct, tag_field="kind", tag="supplier_outage", **_STRICT):
    """`supplier` delivers nothing for `weeks` weeks from `from_week` (or the plan week
    holding `from_date`), for every component it supplies or only `component`."""

    supplier: Id
    weeks: Annotated[int, Meta(ge=1, le=520)]
    from_week: Week | None = None
    from_date: date | None = None
    component: Id | None = None


class LineLossSpec(msgspec.Struct, tag_field="kind", tag="line_loss", **_STRICT):
    """`line` loses `share` of its capacity for `weeks` weeks (0.3: 30%)."""

    line: Id
    share: Annotated[float, Meta(gt=0, le=1)]
    weeks: Annotated[int, Meta(ge=1, le=520)]
    from_week: Week | None = None
    from_date: date | None = None


class AddedSupplierSpec(msgspec.Struct, tag_field="kind", tag="added_supplier", **_STRICT):
    """A second source for `component`."""

    component: Id
    supplier: SupplierSpec


ChangeSpec = SupplierOutageSpec | LineLossSpec | AddedSupplierSpec


class WhatIfRequest(msgspec.Struct, **_STRICT):
    """The body of `POST /api/v1/launches/{slug}/supply/what-if`: changes applied in
    order to a copy of the plan; nothing is stored."""

    changes: Annotated[list[ChangeSpec], Meta(min_length=1, max_length=50)]


class NewOrderWeeks(msgspec.Struct, frozen=True):
    before: list[int] | None
    after: list[int] | None


class VariantImpactOut(msgspec.Struct, frozen=True):
    """A variant's queued orders under the changes: how many are delayed and by how many
    weeks, how many no longer get a car in the horizon, and a new order's promise."""

    sku: str
    orders: int
    delayed: int
    mean_delay_weeks: float
    worst_delay_weeks: int
    never_built: int
    new_order_weeks: NewOrderWeeks


class ResilienceOut(msgspec.Struct, frozen=True):
    """Time to survive (weeks the stock and remaining supply keep the lines going; null:
    the whole horizon) against time to recover (weeks the cut lasts)."""

    component: str
    survive_weeks: int | None
    recover_weeks: int
    at_risk: bool


class WhatIfOut(msgspec.Struct, frozen=True):
    launch: str
    variants: list[VariantImpactOut]
    components: list[ResilienceOut]


class SupplierRiskOut(msgspec.Struct, frozen=True):
    """What losing one supplier for `outage_weeks` from now would cost."""

    supplier: str
    components: list[str]
    buyer_weeks: int
    orders_delayed: int
    never_built: int
    sole_source_of: list[str]


class SupplyRiskOut(msgspec.Struct, frozen=True):
    """Suppliers, the costliest loss first, and the components only one supplier makes."""

    launch: str
    outage_weeks: int
    suppliers: list[SupplierRiskOut]
    single_sourced: list[str]
