"""Production and delivery: a launch's plan (admin), what a new order would be promised
(anyone), and the promises that moved (admin)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs

from launchday.api.context import ApiContext, encode
from launchday.api.production_wire import (
    DeliveryChange,
    DeliveryChanges,
    DeliveryQuotes,
    ProductionSpec,
    VariantQuote,
    plan_from_spec,
    spec_from_plan,
)
from launchday.api.views import estimate_out
from launchday.domain.clock import EARLIEST, rfc3339
from launchday.http.bodies import decode
from launchday.http.errors import HttpError
from launchday.http.routing import QueryParam, Request, Response, Route, json_response

CHANGES_LIMIT = 10_000
_ADMIN_ERRORS = ("unauthenticated", "forbidden", "not_found")


def _since(query: str) -> datetime:
    """The `since` parameter: an RFC 3339 time with a zone; the beginning if absent."""
    values = parse_qs(query).get("since")
    if not values:
        return EARLIEST
    try:
        since = datetime.fromisoformat(values[-1])
    except ValueError:
        raise HttpError("validation", "since must be an RFC 3339 time", "since") from None
    if since.tzinfo is None:
        raise HttpError("validation", "since needs a time zone, e.g. Z", "since")
    return max(since, EARLIEST)


def _weeks(first: int | None, last: int | None) -> list[int] | None:
    return None if first is None or last is None else [first, last]


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
        quotes = await deliveries.quotes(slug)
        variants = [VariantQuote(sku, estimate_out(promise)) for sku, promise in quotes.items()]
        return json_response(200, encode(DeliveryQuotes(slug, variants)))

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
                old_weeks=_weeks(m.move.old_weeks_from, m.move.old_weeks_to),
                new_weeks=_weeks(m.move.new_weeks_from, m.move.new_weeks_to),
            )
            for m in moves
        ]
        return json_response(200, encode(DeliveryChanges(slug, changes)))

    path = "/api/v1/launches/{slug}"
    return [
        Route(
            method="PUT",
            path=f"{path}/production",
            handler=put_production,
            name="put_production_plan",
            summary="Set the launch's production plan; every queued order is promised again"
            " (rules: docs/delivery.md)",
            auth="admin",
            body=ProductionSpec,
            response=ProductionSpec,
            errors=("invalid_body", "validation", *_ADMIN_ERRORS, "too_large", "unavailable"),
        ),
        Route(
            method="GET",
            path=f"{path}/production",
            handler=get_production,
            name="get_production_plan",
            summary="The launch's production plan",
            auth="admin",
            response=ProductionSpec,
            errors=_ADMIN_ERRORS,
        ),
        Route(
            method="GET",
            path=f"{path}/delivery",
            handler=delivery_quotes,
            name="delivery_quotes",
            summary="What a new order of each variant a line builds would be promised now",
            response=DeliveryQuotes,
            errors=("not_found",),
        ),
        Route(
            method="GET",
            path=f"{path}/delivery/changes",
            handler=delivery_changes,
            name="delivery_changes",
            summary="Orders whose promise moved by a week or more, oldest first, with the"
            " cause: for the brand to tell its buyers",
            auth="admin",
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
    ]
