"""Production and delivery: a launch's plan (admin), what a new order would be promised
(anyone), and the promises that moved (admin)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs

from launchday.api.context import ApiContext, encode
from launchday.api.production_wire import (
    AddedSupplierSpec,
    ChangeSpec,
    DeliveryChange,
    DeliveryChanges,
    DeliveryQuotes,
    LineLossSpec,
    NewOrderWeeks,
    ProductionSpec,
    ResilienceOut,
    SupplierRiskOut,
    SupplyRiskOut,
    VariantImpactOut,
    VariantQuote,
    WhatIfOut,
    WhatIfRequest,
    plan_from_spec,
    spec_from_plan,
    supplier_from_spec,
)
from launchday.api.query_params import time_param
from launchday.api.views import at_centre, estimate_out, promise_weeks, weeks_between
from launchday.domain.clock import EARLIEST, rfc3339
from launchday.domain.production_plan import ProductionPlan
from launchday.domain.what_if import AddedSupplier, Change, LineLoss, SupplierOutage
from launchday.http.bodies import decode
from launchday.http.errors import HttpError
from launchday.http.routing import QueryParam, Request, Response, Route, json_response
from launchday.services.supply import OUTAGE_WEEKS

CHANGES_LIMIT = 10_000
_ADMIN_ERRORS = ("unauthenticated", "forbidden", "not_found")


def _since(query: str) -> datetime:
    """The `since` parameter; the beginning if absent."""
    since = time_param(query, "since")
    return EARLIEST if since is None else max(since, EARLIEST)


def _outage_weeks(query: str) -> int:
    values = parse_qs(query).get("outage_weeks")
    if not values:
        return OUTAGE_WEEKS
    if not values[-1].isdigit() or not 1 <= int(values[-1]) <= 520:
        raise HttpError("validation", "outage_weeks must be a whole number 1-520", "outage_weeks")
    return int(values[-1])


def _change(spec: ChangeSpec, plan: ProductionPlan, current: int, field: str) -> Change:
    """A change's domain form, its start as a plan week (the current week if not given)."""
    if isinstance(spec, AddedSupplierSpec):
        return AddedSupplier(spec.component, supplier_from_spec(spec.supplier))
    if spec.from_week is not None and spec.from_date is not None:
        raise HttpError("validation", "give from_week or from_date, not both", f"{field}.from_date")
    start = current
    if spec.from_week is not None:
        start = spec.from_week
    elif spec.from_date is not None:
        start = (spec.from_date - plan.weeks_start).days // 7
    if isinstance(spec, LineLossSpec):
        return LineLoss(spec.line, spec.share, start, spec.weeks)
    return SupplierOutage(spec.supplier, start, spec.weeks, spec.component)


def routes(ctx: ApiContext) -> list[Route]:
    deliveries = ctx.services.deliveries

    async def put_production(request: Request) -> Response:
        slug = request.params["slug"]
        plan = await deliveries.put_plan(slug, plan_from_spec(decode(request.body, ProductionSpec)))
        return json_response(200, encode(spec_from_plan(plan)))

    async def get_production(request: Request) -> Response:
        return json_response(200, encode(spec_from_plan(deliveries.plan(request.params["slug"]))))

    async def delivery_quotes(request: Request) -> Response:
        slug = request.params["slug"]
        centre = parse_qs(request.query).get("centre", [None])[-1]
        weeks = 0
        if centre is not None:
            weeks = ctx.services.handovers.centre(centre, "centre").logistics_weeks
        at, quotes = await deliveries.quotes(slug, time_param(request.query, "at"))
        variants = []
        for sku, promise in quotes.items():
            estimate = estimate_out(promise)
            variants.append(VariantQuote(sku, at_centre(estimate, weeks) if weeks else estimate))
        return json_response(200, encode(DeliveryQuotes(slug, at, variants, centre)))

    async def delivery_changes(request: Request) -> Response:
        slug = request.params["slug"]
        since = _since(request.query)
        await deliveries.repromise(slug)  # so that what has moved by now is listed
        moves = deliveries.moves(slug, since, CHANGES_LIMIT)
        changes = [
            DeliveryChange(
                order=m.order,
                at=rfc3339(m.move.at),
                cause=m.move.cause,
                old_weeks=weeks_between(m.move.old_weeks_from, m.move.old_weeks_to),
                new_weeks=weeks_between(m.move.new_weeks_from, m.move.new_weeks_to),
            )
            for m in moves
        ]
        return json_response(200, encode(DeliveryChanges(slug, changes)))

    async def supply_what_if(request: Request) -> Response:
        slug = request.params["slug"]
        body = decode(request.body, WhatIfRequest)
        plan = deliveries.plan(slug)
        at = ctx.services.launches.get(slug).clock(ctx.clock())
        current = plan.week_of(at)
        changes = tuple(
            _change(spec, plan, current, f"changes[{i}]") for i, spec in enumerate(body.changes)
        )
        found = await ctx.services.supply.what_if(slug, changes)
        variants = [
            VariantImpactOut(
                sku=i.sku,
                orders=i.orders,
                delayed=i.delayed,
                mean_delay_weeks=round(i.mean_delay_weeks, 2),
                worst_delay_weeks=i.worst_delay_weeks,
                never_built=i.never_built,
                new_order_weeks=NewOrderWeeks(
                    promise_weeks(found.new_orders[i.sku][0]),
                    promise_weeks(found.new_orders[i.sku][1]),
                ),
            )
            for i in found.impacts
        ]
        components = [
            ResilienceOut(r.component, r.survive_weeks, r.recover_weeks, r.at_risk)
            for r in found.resilience
        ]
        return json_response(200, encode(WhatIfOut(slug, variants, components)))

    async def supply_risk(request: Request) -> Response:
        slug = request.params["slug"]
        weeks = _outage_weeks(request.query)
        found = await ctx.services.supply.risks(slug, weeks)
        suppliers = [
            SupplierRiskOut(
                r.supplier, list(r.components), r.buyer_weeks, r.orders_delayed,
                r.never_built, list(r.sole_source_of),
            )
            for r in found.suppliers
        ]  # fmt: skip
        out = SupplyRiskOut(slug, weeks, suppliers, list(found.single_sourced))
        return json_response(200, encode(out))

    path = "/api/v1/launches/{slug}"
    return [
        Route(
            method="PUT",
            path=f"{path}/production",
            handler=put_production,
            name="put_production_plan",
            auth=("admin",),
            summary="Set the launch's production plan; every queued order is promised again"
            " (rules: docs/delivery.md)",
            body=ProductionSpec,
            response=ProductionSpec,
            errors=("invalid_body", "validation", *_ADMIN_ERRORS, "too_large", "unavailable"),
        ),
        Route(
            method="GET",
            path=f"{path}/production",
            handler=get_production,
            name="get_production_plan",
            auth=("admin", "operator", "analyst"),
            summary="The launch's production plan",
            response=ProductionSpec,
            errors=_ADMIN_ERRORS,
        ),
        Route(
            method="GET",
            path=f"{path}/delivery",
            handler=delivery_quotes,
            name="delivery_quotes",
            auth="anyone",
            summary="What a new order of each variant a line builds would be promised now"
            " (or placed at a later time, the queue as it is now)",
            response=DeliveryQuotes,
            query=(
                QueryParam(
                    "at",
                    required=False,
                    description="when the new order would be placed (RFC 3339, on the"
                    " launch's clock, not before now); now if absent",
                    schema={"type": "string", "format": "date-time"},
                ),
                QueryParam(
                    "centre",
                    required=False,
                    description="a delivery centre: the promise there, its logistics weeks"
                    " added (at the plant if absent)",
                    schema={"type": "string"},
                ),
            ),
            errors=("validation", "not_found"),
        ),
        Route(
            method="GET",
            path=f"{path}/delivery/changes",
            handler=delivery_changes,
            name="delivery_changes",
            auth=("admin", "analyst", "support"),
            summary="Orders whose promise moved by a week or more, oldest first, with the"
            " cause: for the brand to tell its buyers",
            response=DeliveryChanges,
            query=(
                QueryParam(
                    "since",
                    required=False,
                    description="only changes at or after this time (RFC 3339)",
                    schema={"type": "string", "format": "date-time"},
                ),
            ),
            errors=("validation", *_ADMIN_ERRORS),
        ),
        Route(
            method="POST",
            path=f"{path}/supply/what-if",
            handler=supply_what_if,
            name="supply_what_if",
            read_only=True,
            auth=("admin", "operator", "analyst"),
            summary="What supply or capacity changes would do to every queued order and to"
            " a new one, and each cut component's time to survive and to recover; nothing"
            " is stored",
            body=WhatIfRequest,
            response=WhatIfOut,
            errors=("invalid_body", "validation", *_ADMIN_ERRORS, "too_large"),
        ),
        Route(
            method="GET",
            path=f"{path}/supply/risk",
            handler=supply_risk,
            name="supply_risk",
            auth=("admin", "operator", "analyst"),
            summary="Suppliers ranked by the buyer-weeks of delay their loss would cause,"
            " and the components only one supplier makes",
            response=SupplyRiskOut,
            query=(
                QueryParam(
                    "outage_weeks",
                    required=False,
                    description=f"how long each loss lasts, in weeks (default {OUTAGE_WEEKS})",
                    schema={"type": "integer", "minimum": 1, "maximum": 520},
                ),
            ),
            errors=("validation", *_ADMIN_ERRORS),
        ),
    ]
