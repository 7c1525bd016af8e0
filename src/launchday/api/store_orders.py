"""Orders in a store over HTTP: staff place one for a walk-in buyer, list their store's
orders, read and cancel one. A `store` key works only on its own store's paths (403
elsewhere) and sees only orders its store placed (404 for any other). docs/stores.md."""

from __future__ import annotations

from urllib.parse import parse_qs

import msgspec

from launchday.api.context import ApiContext, encode
from launchday.api.orders import (
    IDEMPOTENCY_KEY_SCHEMA,
    check_idempotency_key,
    order_as_read,
    placed_answer,
)
from launchday.api.views import order_out
from launchday.api.wire import OrderOut, StoreOrderRequest, profile_from_spec
from launchday.domain.order import Order
from launchday.http.bodies import decode
from launchday.http.errors import HttpError
from launchday.http.routing import (
    Header,
    QueryParam,
    Request,
    Response,
    Role,
    Route,
    json_response,
)

SELLING: tuple[Role, ...] = ("store", "admin")
SEEING: tuple[Role, ...] = ("store", "admin", "operator", "support")


class StoreOrdersOut(msgspec.Struct, frozen=True):
    """A store's orders, newest first."""

    store: str
    orders: list[OrderOut]


def routes(ctx: ApiContext) -> list[Route]:
    services = ctx.services
    store_orders, launches, deliveries = (
        services.store_orders,
        services.launches,
        services.deliveries,
    )

    async def full(order: Order) -> OrderOut:
        return await order_as_read(ctx, order)

    def staff(request: Request) -> str:
        return request.caller.key or "admin"

    async def place(request: Request) -> Response:
        key = check_idempotency_key(request)
        body = decode(request.body, StoreOrderRequest)
        slug = request.params["slug"]
        placed = await store_orders.place(
            request.params["store"],
            staff(request),
            slug,
            body.customer,
            key,
            body.sku,
            profile_from_spec(body.profile),
            request.headers.get("admission-token"),
            body.delivery_centre,
        )
        return await placed_answer(ctx, slug, placed)

    async def listed(request: Request) -> Response:
        launch = parse_qs(request.query).get("launch", [None])[-1] or request.caller.launch
        if not request.caller.may_act_on(launch or ""):
            raise HttpError(
                "forbidden", f"this key acts on the launch {request.caller.launch!r} only"
            )
        store = request.params["store"]
        found = store_orders.of_store(store, launch)
        now, out = ctx.clock(), []
        for order in found:  # the list's estimates from the fixed lead times or none
            weeks = services.handovers.logistics_weeks(order)
            out.append(order_out(order, launches.get(order.launch), now, None, None, weeks))
        return json_response(200, encode(StoreOrdersOut(store, out)))

    async def one(request: Request) -> Response:
        order = store_orders.get(
            request.params["store"], request.params["id"], request.caller.launch
        )
        return json_response(200, encode(await full(order)))

    async def cancel(request: Request) -> Response:
        known = store_orders.get(request.params["store"], request.params["id"])
        await services.payments.before_cancel(known)  # an unpaid deposit withdrawn first
        order = await store_orders.cancel(request.params["store"], staff(request), known.id)
        deliveries.changed(order, "an order was cancelled")
        return json_response(200, encode(await full(order)))

    by_id = "/api/v1/stores/{store}/orders/{id}"
    seen_errors = ("not_found", "unauthenticated", "forbidden")
    return [
        Route(
            method="POST",
            path="/api/v1/stores/{store}/launches/{slug}/orders",
            handler=place,
            name="place_store_order",
            auth=SELLING,
            summary="A store's staff place an order for a walk-in buyer, with every check of"
            " the online path (the buyer's admission in the waiting room too)",
            body=StoreOrderRequest,
            response=OrderOut,
            status=201,
            errors=(
                "invalid_body",
                "missing_header",
                "validation",
                "unauthenticated",
                "forbidden",
                "not_found",
                "not_open",
                "sold_out",
                "limit_reached",
                "idempotency_conflict",
                "admission_required",
                "too_large",
                "overloaded",
                "unavailable",
                "payments_unavailable",
            ),
            headers=(
                Header(
                    "Idempotency-Key",
                    True,
                    "Unique per intended order (per buyer); a retry with the same key returns"
                    " the same order (header Idempotent-Replayed: true)",
                    IDEMPOTENCY_KEY_SCHEMA,
                ),
                Header(
                    "Admission-Token",
                    False,
                    "Required when the launch has a waiting room: the buyer's own token,"
                    " once admitted (a store is not a way past the queue)",
                    {"type": "string"},
                ),
            ),
        ),
        Route(
            method="GET",
            path="/api/v1/stores/{store}/orders",
            handler=listed,
            name="store_orders",
            auth=SEEING,
            summary="The orders the store placed, newest first (at most 500)",
            response=StoreOrdersOut,
            errors=("validation", *seen_errors),
            query=(QueryParam("launch", False, "only this launch's orders", {"type": "string"}),),
        ),
        Route(
            method="GET",
            path=by_id,
            handler=one,
            name="store_order",
            auth=SEEING,
            summary="One of the orders the store placed",
            response=OrderOut,
            errors=seen_errors,
        ),
        Route(
            method="POST",
            path=f"{by_id}/cancel",
            handler=cancel,
            name="cancel_store_order",
            auth=SELLING,
            summary="Cancel one of the store's orders for its buyer, inside its window",
            response=OrderOut,
            errors=(*seen_errors, "locked", "expired", "payments_unavailable"),
        ),
    ]
